"""pycaffe's caffe.Classifier: a deploy net that takes images (H×W×C,
[0, 1]), resizes them to image_dims, crops (10 crops averaged, or the
centre) and returns the first output per image."""
import numpy as np

from . import io
from .pycaffe import TEST, Net


class Classifier(Net):
    def __init__(self, model_file, pretrained_file, image_dims=None, mean=None, input_scale=None, raw_scale=None,
                 channel_swap=None):
        Net.__init__(self, model_file, pretrained_file, TEST)
        in_ = self.inputs[0]
        self.transformer = io._net_transformer(self, mean, input_scale, raw_scale, channel_swap)
        self.crop_dims = np.array(self.blobs[in_].data.shape[2:])
        self.image_dims = self.crop_dims if not image_dims else image_dims

    def predict(self, inputs, oversample=True):
        """Class scores (N×classes) for N images: the mean over the 10
        crops when oversample, else of the centre crop."""
        channels = inputs[0].shape[2]
        resized = np.zeros((len(inputs), self.image_dims[0], self.image_dims[1], channels), dtype=np.float32)
        for i, image in enumerate(inputs):
            resized[i] = io.resize_image(image, self.image_dims)
        if oversample:
            crops = io.oversample(resized, self.crop_dims)
        else:
            top = (np.array(self.image_dims) / 2.0 - self.crop_dims / 2.0).astype(int)
            crops = resized[:, top[0]:top[0] + self.crop_dims[0], top[1]:top[1] + self.crop_dims[1], :]
        in_ = self.inputs[0]
        batch = np.zeros((len(crops), channels) + tuple(self.crop_dims), dtype=np.float32)
        for i, crop in enumerate(crops):
            batch[i] = self.transformer.preprocess(in_, crop)
        predictions = self.forward_all(**{in_: batch})[self.outputs[0]]
        if oversample:
            predictions = predictions.reshape((len(predictions) // 10, 10, -1)).mean(1)
        return predictions
