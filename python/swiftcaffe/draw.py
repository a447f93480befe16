"""pycaffe's caffe.draw: a NetParameter (caffe_pb2) drawn with Graphviz, as
`swiftcaffe draw` draws nets (SwiftCaffe's layout, not pydot's).

phase: caffe.TRAIN or caffe.TEST; None draws the TEST phase (pycaffe drew
the layers of every phase at once)."""
import os
import tempfile

from ._native import check, encode, lib
from .pycaffe import TEST


def _text(caffe_net):
    from google.protobuf import text_format
    return text_format.MessageToString(caffe_net)


def draw_net_to_file(caffe_net, filename, rankdir="LR", phase=None, display_lrm=False):
    """Writes the drawing to filename: .dot/.gv, .svg, .png or .pdf."""
    check(lib.sc_draw_net(_text(caffe_net).encode("utf-8"), rankdir.encode("ascii"),
                          TEST if phase is None else int(phase), encode(filename)))


def draw_net(caffe_net, rankdir, ext="png", phase=None, display_lrm=False):
    """The drawing as bytes of format ext (png, svg, pdf or dot)."""
    folder = tempfile.mkdtemp(prefix="swiftcaffe-draw-")
    path = os.path.join(folder, "net." + ext)
    try:
        draw_net_to_file(caffe_net, path, rankdir, phase, display_lrm)
        with open(path, "rb") as f:
            return f.read()
    finally:
        if os.path.exists(path):
            os.remove(path)
        os.rmdir(folder)
