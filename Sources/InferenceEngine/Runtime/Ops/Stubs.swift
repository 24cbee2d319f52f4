extension OperatorCompiler {
    func compileConv() throws(ModelLoadError) -> Compiled? { nil }
    func compilePool() throws(ModelLoadError) -> Compiled? { nil }
    func compileGlobalPool() throws(ModelLoadError) -> Compiled? { nil }
    func compileRecurrent() throws(ModelLoadError) -> Compiled? { nil }
}
