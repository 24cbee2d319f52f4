extension OperatorCompiler {
    func compileRecurrent() throws(ModelLoadError) -> Compiled? { nil }
}
