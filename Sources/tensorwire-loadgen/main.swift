print("tensorwire-loadgen: under construction")
