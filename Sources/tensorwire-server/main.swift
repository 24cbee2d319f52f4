print("tensorwire-server: under construction")
