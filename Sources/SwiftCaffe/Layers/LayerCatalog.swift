/// Every layer type SwiftCaffe knows, by Caffe type name, in one list: its
/// plan (typed parameters and shape rule: what the graph, `summary` and
/// `draw` use) and the runtime layer that runs it, or why it is planned only.
/// A new layer type is one file under Layers/ (plan and layer) and one
/// entry here.
enum LayerCatalog {
    enum Runtime {
        case runs(Layer.Type)
        /// Planned (shapes, parameters, cost) but not run, with the reason.
        case shapeOnly(String)
    }

    struct Entry {
        let plan: any LayerPlan.Type
        let runtime: Runtime
        var type: String { plan.type }
    }

    private static func runs(_ plan: any LayerPlan.Type, _ layer: Layer.Type) -> Entry { Entry(plan: plan, runtime: .runs(layer)) }
    private static func planned(_ plan: any LayerPlan.Type, _ reason: String) -> Entry { Entry(plan: plan, runtime: .shapeOnly(reason)) }


    static let entries: [Entry] = [
        // data
        runs(InputPlan.self, InputLayer.self), runs(DummyDataPlan.self, DummyDataLayer.self), runs(DataPlan.self, DataLayer.self),
        runs(ImageDataPlan.self, ImageDataLayer.self), runs(MemoryDataPlan.self, MemoryDataLayer.self),
        runs(HDF5DataPlan.self, HDF5DataLayer.self), runs(HDF5OutputPlan.self, HDF5OutputLayer.self),
        planned(WindowDataPlan.self, "R-CNN's window files are not read"),
        // vision
        runs(ConvolutionPlan.self, ConvolutionLayer.self), runs(DeconvolutionPlan.self, DeconvolutionLayer.self),
        runs(PoolingPlan.self, PoolingLayer.self), runs(LRNPlan.self, LRNLayer.self), runs(CropPlan.self, CropLayer.self),
        // neuron
        runs(ReLUPlan.self, ReLULayer.self), runs(PReLUPlan.self, PReLULayer.self), runs(ELUPlan.self, ELULayer.self),
        runs(SigmoidPlan.self, SigmoidLayer.self), runs(TanHPlan.self, TanHLayer.self), runs(AbsValPlan.self, AbsValLayer.self),
        runs(PowerPlan.self, PowerLayer.self), runs(ExpPlan.self, ExpLayer.self), runs(LogPlan.self, LogLayer.self),
        runs(BNLLPlan.self, BNLLLayer.self), runs(ThresholdPlan.self, ThresholdLayer.self), runs(DropoutPlan.self, DropoutLayer.self),
        runs(SwishPlan.self, SwishLayer.self), runs(ClipPlan.self, ClipLayer.self), runs(ReLU6Plan.self, ReLU6Layer.self),
        // common
        runs(InnerProductPlan.self, InnerProductLayer.self), runs(SoftmaxPlan.self, SoftmaxLayer.self),
        runs(ConcatPlan.self, ConcatLayer.self), runs(SlicePlan.self, SliceLayer.self), runs(SplitPlan.self, SplitLayer.self),
        runs(EltwisePlan.self, EltwiseLayer.self), runs(FlattenPlan.self, FlattenLayer.self), runs(ReshapePlan.self, ReshapeLayer.self),
        runs(BatchNormPlan.self, BatchNormLayer.self), runs(ScalePlan.self, ScaleLayer.self), runs(BiasPlan.self, BiasLayer.self),
        runs(MVNPlan.self, MVNLayer.self), runs(ArgMaxPlan.self, ArgMaxLayer.self), runs(SilencePlan.self, SilenceLayer.self),
        planned(PythonPlan.self, "a Python layer runs Python code, which SwiftCaffe does not run"),
        runs(ReductionPlan.self, ReductionLayer.self), runs(TilePlan.self, TileLayer.self), runs(EmbedPlan.self, EmbedLayer.self),
        // from forks: ShuffleNet, SENet
        runs(ShuffleChannelPlan.self, ShuffleChannelLayer.self), runs(AxpyPlan.self, AxpyLayer.self),
        // from forks: MobileNet's depthwise convolutions
        runs(ConvolutionDepthwisePlan.self, ConvolutionLayer.self), runs(DepthwiseConvolutionPlan.self, ConvolutionLayer.self),
        // from forks: DeepLab's and SegNet's (and YOLO ports') resizing
        runs(InterpPlan.self, InterpLayer.self), runs(UpsamplePlan.self, UpsampleLayer.self),
        // from forks: SSD
        runs(NormalizePlan.self, NormalizeLayer.self), runs(PermutePlan.self, PermuteLayer.self),
        runs(PriorBoxPlan.self, PriorBoxLayer.self), runs(DetectionOutputPlan.self, DetectionOutputLayer.self),
        planned(MultiBoxLossPlan.self, MultiBoxLossPlan.refusal),
        // loss
        runs(SoftmaxWithLossPlan.self, SoftmaxWithLossLayer.self), runs(EuclideanLossPlan.self, EuclideanLossLayer.self),
        runs(SigmoidCrossEntropyLossPlan.self, SigmoidCrossEntropyLossLayer.self), runs(AccuracyPlan.self, AccuracyLayer.self),
        runs(HingeLossPlan.self, HingeLossLayer.self), runs(InfogainLossPlan.self, InfogainLossLayer.self),
        runs(MultinomialLogisticLossPlan.self, MultinomialLogisticLossLayer.self), runs(ContrastiveLossPlan.self, ContrastiveLossLayer.self),
    ]

    static let byType: [String: Entry] = Dictionary(uniqueKeysWithValues: entries.map { ($0.type, $0) })

    /// The plan of a type, for the graph.
    static func plan(_ type: String) -> (any LayerPlan.Type)? { byType[type]?.plan }

    /// Every type the graph plans, sorted (for "unknown type" errors).
    static var types: [String] { entries.map(\.type).sorted() }

    /// Every type the runtime runs, sorted.
    static var runnableTypes: [String] {
        entries.compactMap { if case .runs = $0.runtime { return $0.type } else { return nil } }.sorted()
    }
}

/// The layer types SwiftCaffe runs, sorted (pycaffe's layer_type_list).
public var runnableLayerTypes: [String] { LayerCatalog.runnableTypes }
