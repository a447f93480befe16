public enum SwiftCaffeVersion {
    public static let string = "0.1.0"
}
