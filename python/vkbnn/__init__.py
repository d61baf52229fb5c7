"""vkbnn: GPU inference on Vulkan compute for compressed CNNs (binary, int8, fp32).

    import vkbnn
    context = vkbnn.Context()
    model = vkbnn.Model.load("model.vkbnn")
    network = vkbnn.Network(context, model, profiling=True)
    scores = network.run(vkbnn.load_image("cat.png", model))

Engine failures raise vkbnn.Error (vkbnn.ModelError for a bad model file, vkbnn.UnsupportedError
for an ONNX graph the converter cannot map, vkbnn.VulkanError for a failed Vulkan call,
vkbnn.MemoryLimitError for a network larger than the device or its limits allow).
"""

from ._vkbnn import (  # noqa: F401
    __version__,
    ChannelOrder,
    ConversionSummary,
    Context,
    DeviceInfo,
    Error,
    LayerInfo,
    LayerQuantization,
    LayerTiming,
    LoadReport,
    MemoryLimitError,
    MemoryReport,
    Model,
    ModelError,
    ModelMetadata,
    Network,
    NodeSummary,
    Profile,
    TensorDesc,
    UnsupportedError,
    VulkanError,
    convert,
    load_image,
    preprocess,
)

__all__ = [name for name in dir() if not name.startswith("_")]

# Errors and types print as vkbnn.X, the name users write, not the extension module's.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = "vkbnn"
del _name, _obj
