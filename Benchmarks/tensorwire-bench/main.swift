print("tensorwire-bench: under construction")
