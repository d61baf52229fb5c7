// Preloaded into every process of the sanitizer run (CMakePresets.json "asan", LD_PRELOAD). The
// Vulkan loader unloads the Khronos validation layer at vkDestroyInstance, but the layer's
// synchronization validation keeps process-lifetime allocations; LeakSanitizer, which looks at
// exit, would report them from a module that is no longer mapped and has no name to suppress.
// Holding one more reference with RTLD_NODELETE keeps the layer mapped, so tests/sanitizers/
// lsan.supp names it. RTLD_LOCAL matters: preloading the layer itself would put its vk* entry
// points in the global scope ahead of the loader's.
#include <dlfcn.h>

namespace {

[[gnu::constructor]] void keep_validation_layer_mapped() {
  dlopen("libVkLayer_khronos_validation.so", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
}

}  // namespace
