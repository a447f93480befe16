import Foundation
import SwiftCaffe

// Train Caffe's LeNet a few steps from its solver file (Fashion-MNIST),
// then save the weights as a .caffemodel.
let solver = try Solver(path: "Models/lenet/solver.prototxt")
try solver.step(100)
print("LeNet after \(solver.iteration) iterations: smoothed loss \(solver.smoothedLoss)")
let weights = FileManager.default.temporaryDirectory.appendingPathComponent("lenet-example.caffemodel").path
try CaffeModelWriter.write(solver.net, to: weights)

// Load the deploy net with those weights, for one image at a time.
let net = try Net(prototxt: "Models/lenet/deploy.prototxt", weights: weights, inputShapes: ["data": [1, 1, 28, 28]])
let labels = try Classification.readLabels(path: "Models/fashion-mnist/labels.txt")

// An input from an array: N×C×H×W values, scaled as in training (here a blank image).
let blank = try net.forward(["data": [Float](repeating: 0, count: 28 * 28)])
print("blank image: outputs \(blank.keys.sorted()), \(blank["prob"]!.count) probabilities")

// An input from an image file, preprocessed as the train_val's TEST data layer did (scale 1/256).
let request = PreprocessingRequest(transform: try InputTransform.read(trainNet: "Models/lenet/train_val.prototxt"))
let preprocessing = try request.resolve(for: net.blob("data")!.shape)
let image = try preprocessing.crops(try RGBImage.read(path: "Models/fashion-mnist/images/ankle_boot.png"))[0]
let prob = try net.forward(["data": image])["prob"]!
for c in ClassScore.top(3, of: prob) { print(String(format: "%.4f  %@", c.score, labels[c.index])) }
