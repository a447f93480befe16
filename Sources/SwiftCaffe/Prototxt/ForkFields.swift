/// Fields of popular Caffe forks that SwiftCaffe does not implement, by the
/// message they extend: the fork and what the field is for, so that an
/// "unknown field" error says where a file comes from instead of guessing a
/// misspelling. The fork fields SwiftCaffe implements are in Proto/caffe.proto.
enum ForkFields {
    struct Origin {
        let fork: String
        let use: String
    }

    private static let ssd = "SSD (weiliu89/caffe)", fasterRCNN = "Faster R-CNN (rbgirshick/py-faster-rcnn)"
    private static let rfcn = "R-FCN (daijifeng001/caffe-rfcn)", flownet = "FlowNet 2 (lmb-freiburg/flownet2)"
    private static let yolo = "the YOLO ports (eric612/MobileNet-YOLO and others)", intel = "Intel Caffe"

    static let known: [String: [String: Origin]] = [
        "LayerParameter": [
            "annotated_data_param": Origin(fork: ssd, use: "the AnnotatedData training layer (SwiftCaffe runs SSD deploy nets)"),
            "detection_evaluate_param": Origin(fork: ssd, use: "the DetectionEvaluate test layer (SwiftCaffe runs SSD deploy nets)"),
            "video_data_param": Origin(fork: ssd, use: "the VideoData layer"),
            "bn_param": Origin(fork: "yjxiong/caffe and other forks", use: "their BN layer (BVLC Caffe uses BatchNorm + Scale)"),
            "roi_pooling_param": Origin(fork: fasterRCNN, use: "the ROIPooling layer"),
            "smooth_l1_loss_param": Origin(fork: fasterRCNN, use: "the SmoothL1Loss layer"),
            "proposal_param": Origin(fork: fasterRCNN, use: "the Proposal layer"),
            "psroi_pooling_param": Origin(fork: rfcn, use: "the PSROIPooling layer"),
            "box_annotator_ohem_param": Origin(fork: rfcn, use: "the BoxAnnotatorOHEM layer"),
            "reorg_param": Origin(fork: yolo, use: "the Reorg layer"),
            "region_loss_param": Origin(fork: yolo, use: "the RegionLoss layer"),
            "yolo_v2_loss_param": Origin(fork: yolo, use: "a training loss"),
            "yolo_v3_loss_param": Origin(fork: yolo, use: "a training loss"),
            "yolov3_param": Origin(fork: yolo, use: "the Yolov3 layer"),
            "yolo_detection_output_param": Origin(fork: yolo, use: "a detection output layer"),
            "yolov3_detection_output_param": Origin(fork: yolo, use: "a detection output layer"),
            "quantization_param": Origin(fork: "Ristretto (pmgysel/caffe)", use: "quantized layers"),
            "correlation_param": Origin(fork: flownet, use: "the Correlation layer"),
            "flow_warp_param": Origin(fork: flownet, use: "the FlowWarp layer"),
            "augmentation_param": Origin(fork: flownet, use: "the DataAugmentation layer"),
            "resample_param": Origin(fork: flownet, use: "the Resample layer"),
            "l1_loss_param": Origin(fork: flownet, use: "the L1Loss layer"),
            "multinode": Origin(fork: intel, use: "multinode training"),
            "mn_activation_param": Origin(fork: intel, use: "multinode training"),
            "engine": Origin(fork: intel, use: "choosing MKL2017 or MKLDNN kernels"),
        ],
        "TransformationParameter": [
            "resize_param": Origin(fork: ssd, use: "data augmentation"),
            "noise_param": Origin(fork: ssd, use: "data augmentation"),
            "distort_param": Origin(fork: ssd, use: "data augmentation"),
            "expand_param": Origin(fork: ssd, use: "data augmentation"),
            "emit_constraint": Origin(fork: ssd, use: "data augmentation"),
        ],
        "PoolingParameter": [
            "ceil_mode": Origin(fork: "several forks (BVLC pull request 3057)", use: "rounding pooled sizes down (Caffe rounds up)"),
        ],
    ]

    /// What `field` of `message` is, if a known fork defines it, as the end
    /// of an "unknown field" message.
    static func explanation(of field: String, in message: String) -> String? {
        known[message]?[field].map { "it comes from \($0.fork), for \($0.use), which SwiftCaffe does not implement" }
    }
}
