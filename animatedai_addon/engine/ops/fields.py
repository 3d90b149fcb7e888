"""Panel fields several operations share (an operation's own fields live in its module)."""

from ..operation import Field

IN_CHANNELS = Field("in_channels", "count", "Channels", "Input channels", 8)
HEIGHT = Field("height", "count", "Height", "Input height", 8)
WIDTH = Field("width", "count", "Width", "Input width", 8)
SHAPE_2D = (IN_CHANNELS, HEIGHT, WIDTH)

OUT_CHANNELS = Field("out_channels", "count", "Out Channels", "Output channels (number of filters)", 8)
GROUPS = Field("groups", "count", "Groups", "Filter groups: must divide in and out channels", 1)
KERNEL_SIZE = Field("kernel_size", "pair", "Kernel", "Kernel (height, width)", (3, 3), soft_max=16)
STRIDE = Field("stride", "pair", "Stride", "Stride (height, width)", (2, 2), soft_max=16)
DILATION = Field("dilation", "pair", "Dilation", "Dilation (height, width)", (1, 1), soft_max=16)
PADDING_HW = Field("padding_hw", "pair", "Padding", "Padding cells (height, width) on both sides", (0, 0),
                   minimum=0, soft_max=16)

PADDING_ITEMS = (
    ("valid", "Valid", "No padding: the window stays inside the input"),
    ("same", "Same", "Output = ceil(input / stride) (TensorFlow's rule; the odd cell at bottom/right)"),
    ("full", "Full", "Every position where the window overlaps the input at all"),
    ("explicit", "Explicit", "Padding cells given as top, bottom, left, right"),
)
PADDING_MODE = Field("padding_mode", "enum", "Padding", "How the input is padded before the window slides over it",
                     "valid", items=PADDING_ITEMS)
PADDING = Field("padding", "quad", "Explicit Padding", "Padding cells: top, bottom, left, right", (1, 1, 1, 1),
                minimum=0, soft_max=16, shown_if=("padding_mode", "explicit"))


def padding_value(get):
    """The spec's ``padding`` from the padding fields: a word, or the explicit (top, bottom, left, right)."""
    return tuple(get("padding")) if get("padding_mode") == "explicit" else get("padding_mode")


def padding_settings(padding) -> dict:
    if isinstance(padding, str):
        return {"padding_mode": padding}
    return {"padding_mode": "explicit", "padding": tuple(padding)}


def shape_settings(spec) -> dict:
    return dict(zip(spec.SHAPE_FIELDS, spec.input_shape))

BIAS = Field("bias", "bool", "Bias", "One bias value per filter, added to each of its sums (shown as one more "
             "cube at the filter's output end)", False)
