print("tensorwire: under construction")
