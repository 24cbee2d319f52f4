/// Method names carried in REQUEST heads. An unknown method is answered UNIMPLEMENTED.
public enum MethodName {
    public static let infer = "Infer"
    public static let listModels = "ListModels"
    public static let modelMetadata = "ModelMetadata"
    public static let serverInfo = "ServerInfo"
    public static let health = "Health"
    public static let stats = "Stats"

    public static let all = [infer, listModels, modelMetadata, serverInfo, health, stats]
}
