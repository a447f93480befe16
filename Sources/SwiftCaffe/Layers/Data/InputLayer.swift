/// Input: tops the caller fills (`swiftcaffe forward --input`); their shapes
/// come from input_param or from the caller, and Reshape leaves them alone.
final class InputLayer: Layer {
    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {}
}
