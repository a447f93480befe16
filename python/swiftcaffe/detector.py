"""pycaffe's caffe.Detector: R-CNN-style windowed detection. Each window
(ymin, xmin, ymax, xmax) of an image is cropped, optionally with context
padding, warped to the net's input and classified."""
import numpy as np

from . import io
from .pycaffe import TEST, Net


class Detector(Net):
    def __init__(self, model_file, pretrained_file, mean=None, input_scale=None, raw_scale=None, channel_swap=None,
                 context_pad=None):
        Net.__init__(self, model_file, pretrained_file, TEST)
        self.transformer = io._net_transformer(self, mean, input_scale, raw_scale, channel_swap)
        self.configure_crop(context_pad)

    def detect_windows(self, images_windows):
        """[(image file, [window, ...]), ...] → one {'window', 'prediction',
        'filename'} per window, in order."""
        crops = []
        for filename, windows in images_windows:
            image = io.load_image(filename)
            crops.extend(self.crop(image, w) for w in windows)
        in_ = self.inputs[0]
        batch = np.zeros((len(crops), crops[0].shape[2]) + tuple(self.blobs[in_].data.shape[2:]), dtype=np.float32)
        for i, crop in enumerate(crops):
            batch[i] = self.transformer.preprocess(in_, crop)
        predictions = self.forward_all(**{in_: batch})[self.outputs[0]]
        out, k = [], 0
        for filename, windows in images_windows:
            for w in windows:
                out.append({"window": w, "prediction": predictions[k], "filename": filename})
                k += 1
        return out

    def detect_selective_search(self, image_fnames):
        raise NotImplementedError("selective search windows come from the selective_search_ijcv_with_python "
                                  "MATLAB package, which swiftcaffe does not run; compute windows elsewhere and "
                                  "call detect_windows([(image, windows), ...])")

    def crop(self, im, window):
        """The window of im; with context_pad, the window grown so that the
        net's input holds context_pad pixels of context on each side, the
        part outside the image filled with the mean."""
        window = np.asarray(window)
        if not self.context_pad:
            return im[int(window[0]):int(window[2]), int(window[1]):int(window[3])]
        size = self.blobs[self.inputs[0]].width
        scale = size / (1.0 * size - self.context_pad * 2)
        half_h = (window[2] - window[0] + 1) / 2.0
        half_w = (window[3] - window[1] + 1) / 2.0
        centre = np.array((window[0] + half_h, window[1] + half_w))
        box = np.round(np.tile(centre, 2) + scale * np.array((-half_h, -half_w, half_h, half_w)))
        scale_h = size / (box[2] - box[0] + 1)
        scale_w = size / (box[3] - box[1] + 1)
        pad_y = int(round(max(0, -box[0]) * scale_h))
        pad_x = int(round(max(0, -box[1]) * scale_w))
        im_h, im_w = im.shape[:2]
        box = np.clip(box, 0.0, [im_h, im_w, im_h, im_w]).astype(int)
        crop_h = min(int(round((box[2] - box[0] + 1) * scale_h)), size - pad_y)
        crop_w = min(int(round((box[3] - box[1] + 1) * scale_w)), size - pad_x)
        context = io.resize_image(im[box[0]:box[2], box[1]:box[3]], (crop_h, crop_w))
        out = np.ones(self.crop_dims, dtype=np.float32) * self.crop_mean
        out[pad_y:pad_y + crop_h, pad_x:pad_x + crop_w] = context
        return out

    def configure_crop(self, context_pad):
        """The crop size (the input's, in image axis order) and the mean to pad with."""
        in_ = self.inputs[0]
        inverse = np.argsort(self.transformer.transpose[in_])
        self.crop_dims = tuple(np.array(self.blobs[in_].data.shape[1:])[inverse])
        self.context_pad = context_pad
        mean = self.transformer.mean.get(in_)
        if context_pad and mean is not None:
            crop_mean = np.broadcast_to(mean, self.blobs[in_].data.shape[1:]).transpose(inverse).copy()
            swap = self.transformer.channel_swap.get(in_)
            if swap is not None:
                crop_mean = crop_mean[:, :, np.argsort(swap)]
            raw = self.transformer.raw_scale.get(in_)
            if raw is not None:
                crop_mean /= raw
            self.crop_mean = crop_mean
        else:
            self.crop_mean = np.zeros(self.crop_dims, dtype=np.float32)
