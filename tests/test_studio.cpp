// vkbnn-studio, the desktop app, run end to end under a virtual X server (xvfb-run) with the
// validation layer on: it must exit 0 after the frames, write a screenshot that is not blank and
// print the same top-1 class as vkbnn-run for the same model and image. Without the studio or
// xvfb-run, CMake says so at configure time and these tests are not compiled.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/image_input.hpp"
#include "vkbnn/io/npy.hpp"
#include "vkbnn/vkbnn.hpp"

namespace vkbnn {
namespace {

namespace fs = std::filesystem;

#ifdef VKBNN_STUDIO_PATH

std::string vkbnn_run_top1(const std::string& model, const std::string& image) {
  auto r = test::run_process({test::tool_path("vkbnn-run"), model, image});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  if (!std::regex_search(r.output, m, std::regex(R"(\n\s*1\.\s+[0-9.]+%\s+([^\n]+))"))) return "";
  return m[1];
}

double pixel_variance(const io::Image& image) {
  double sum = 0, sum2 = 0;
  for (uint8_t v : image.pixels) {
    sum += v;
    sum2 += double(v) * v;
  }
  double n = static_cast<double>(image.pixels.size());
  return n ? sum2 / n - (sum / n) * (sum / n) : 0;
}

class Studio : public ::testing::TestWithParam<std::string> {};

TEST_P(Studio, ShowsWhatVkbnnRunReportsUnderXvfb) {
  const fs::path model = fs::path(test::source_dir()) / "assets/models" / (GetParam() + ".vkbnn");
  ASSERT_TRUE(fs::exists(model)) << model << " is not there";
  const std::string image = test::source_dir() + "/assets/images/0-ankle-boot.png";
  const fs::path dir = fs::temp_directory_path() / ("vkbnn_studio_" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  const fs::path png = dir / "studio.png";

  // The BNN's first packed signs: the stem's output binarized (the converter names a Binarize
  // after the tensor it reads).
  const std::string layer = GetParam() == "fmnist-bnn-el" ? "/0/Conv_output_0_binarize" : "/0/Conv";
  const int channel = 3;
  auto r = test::run_process({VKBNN_XVFB_RUN, "-a", "-s", "-screen 0 1280x900x24", VKBNN_STUDIO_PATH,
                              model.string(), "--image", image, "--frames", "30", "--screenshot", png.string(),
                              "--print-results", "--validation", "--layer", layer, "--channel",
                              std::to_string(channel)});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("Vulkan validation"), std::string::npos) << r.output;

  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(top-1\s+([^\n]+?) [0-9.]+%)"))) << r.output;
  const std::string studio_top1 = m[1];
  EXPECT_EQ(studio_top1, vkbnn_run_top1(model.string(), image)) << r.output;

  // The heatmaps' compute shader read the activation straight from the engine's arena (packed
  // signs for a Bit tensor, bytes for an Int8 one): its range of the enlarged channel must match
  // read_tensor's.
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(activations (\S+) \S+( bits)? channel (\d+) range (\S+) (\S+) mean (\S+))")))
      << r.output;
  EXPECT_EQ(m[1], layer);
  EXPECT_EQ(m[2].matched, GetParam() == "fmnist-bnn-el");
  EXPECT_EQ(std::stoi(m[3]), channel);
  const float shown_min = std::stof(m[4]), shown_max = std::stof(m[5]), shown_mean = std::stof(m[6]);
  {
    Model loaded = Model::load(model);
    Network network(test::context(), loaded, {.taps = {layer}});
    auto input = io::preprocess(io::load_image(image), io::input_layout(loaded));
    network.run(input);
    Tensor t = network.read_tensor(layer);
    const size_t plane = t.data.size() / static_cast<size_t>(t.shape[1]);
    float lo = 1e30f, hi = -1e30f;
    double sum = 0;
    for (size_t i = 0; i < plane; ++i) {
      lo = std::min(lo, t.data[channel * plane + i]);
      hi = std::max(hi, t.data[channel * plane + i]);
      sum += t.data[channel * plane + i];
    }
    const double mean = sum / static_cast<double>(plane);
    // For packed signs the mean counts the -1 bits exactly: (plus - minus) / pixels.
    EXPECT_NEAR(shown_mean, mean, 1e-4 + 1e-4 * std::abs(mean));
    EXPECT_NEAR(shown_min, lo, 1e-4f + 1e-4f * std::abs(lo));
    EXPECT_NEAR(shown_max, hi, 1e-4f + 1e-4f * std::abs(hi));
    DeviceTensor d = network.device_tensor(layer);
    EXPECT_NE(d.buffer, VK_NULL_HANDLE);
    EXPECT_EQ(d.shape, t.shape);
    EXPECT_EQ(d.packed_bits, GetParam() == "fmnist-bnn-el");
    EXPECT_EQ(d.packed_int8, GetParam() == "fmnist-cnn-int8");
    EXPECT_LE(d.offset + d.bytes, network.memory().arena_bytes);
  }

  ASSERT_TRUE(fs::exists(png)) << r.output;
  io::Image shot = io::load_image(png);
  EXPECT_GE(shot.width, 640);
  EXPECT_GE(shot.height, 400);
  EXPECT_GT(pixel_variance(shot), 100.0) << "the screenshot is (nearly) blank";
  fs::remove_all(dir);
}

// The camera path: YUYV frames (an image replayed by the stand-in camera, enlarged 4x) are
// converted, resized and normalised by a compute shader; the tensor the model ran on must be the
// CPU preprocessing of the image to 1/255 of the [0, 1] pixel scale (the stand-in camera's
// BT.601 round trip of a gray pixel is off by at most 0.75/255), and the class vkbnn-run's.
TEST(StudioCamera, GpuConversionMatchesCpuPreprocessing) {
  const std::string model = test::source_dir() + "/assets/models/fmnist-cnn-fp32.vkbnn";
  const std::string image = test::source_dir() + "/assets/images/13-dress.png";
  const fs::path dir = fs::temp_directory_path() / ("vkbnn_studio_" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  const fs::path saved = dir / "camera-input.npy";
  auto r = test::run_process({VKBNN_XVFB_RUN, "-a", "-s", "-screen 0 1280x900x24", VKBNN_STUDIO_PATH, model,
                              "--image-camera", image, "--frames", "20", "--print-results", "--validation",
                              "--save-input", saved.string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("image camera"), std::string::npos) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(top-1\s+([^\n]+?) [0-9.]+%)"))) << r.output;
  EXPECT_EQ(std::string(m[1]), vkbnn_run_top1(model, image)) << r.output;

  const io::InputLayout layout = io::input_layout(Model::load(model));
  const std::vector<float> cpu = io::preprocess(io::load_image(image), layout);
  const io::NpyArray gpu = io::read_npy(saved);
  EXPECT_EQ(gpu.shape, (std::vector<int64_t>{1, layout.channels, layout.height, layout.width}));
  ASSERT_EQ(gpu.data.size(), cpu.size());
  const size_t plane = cpu.size() / static_cast<size_t>(layout.channels);
  size_t off = 0;
  float worst = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const size_t c = i / plane;
    const float sd = c < layout.std.size() ? layout.std[c] : 1.0f;
    const float pixels = std::abs(gpu.data[i] - cpu[i]) * sd * 255.0f;  // in steps of 1/255
    worst = std::max(worst, pixels);
    off += !(pixels <= 1.0f);
  }
  EXPECT_EQ(off, 0u) << "values more than 1/255 from the CPU preprocessing; the worst by " << worst << "/255";
  fs::remove_all(dir);
}

// The same through MJPEG: the stand-in camera's frames are a JPEG decoded each time by the
// decoder V4L2 MJPEG frames go through, then converted from RGB on the GPU. No real camera is
// needed. (Without libturbojpeg, Mjpeg.RefusedWithoutLibturbojpeg covers the refusal.)
#if VKBNN_HAVE_TURBOJPEG
TEST(StudioCamera, MjpegFramesClassifyLikeVkbnnRun) {
  const std::string model = test::source_dir() + "/assets/models/fmnist-cnn-fp32.vkbnn";
  const std::string image = test::source_dir() + "/assets/images/13-dress.png";
  auto r = test::run_process({VKBNN_XVFB_RUN, "-a", "-s", "-screen 0 1280x900x24", VKBNN_STUDIO_PATH, model,
                              "--image-camera", image, "--image-camera-mjpeg", "--frames", "20", "--print-results",
                              "--validation"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("MJPEG)"), std::string::npos) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(top-1\s+([^\n]+?) [0-9.]+%)"))) << r.output;
  EXPECT_EQ(std::string(m[1]), vkbnn_run_top1(model, image)) << r.output;
}
#endif

// Every bundled model in one window, switched live while the worker keeps running.
TEST(StudioModels, SwitchLiveBetweenBundledModels) {
  const std::string dir = test::source_dir() + "/assets/models/";
  std::vector<std::string> argv = {VKBNN_XVFB_RUN, "-a", "-s", "-screen 0 1280x900x24", VKBNN_STUDIO_PATH};
  size_t models = 0;
  for (const char* name : {"fmnist-cnn-fp32", "fmnist-bnn", "fmnist-bnn-el", "fmnist-cnn-int8", "fmnist-mbv2-int8"})
    if (fs::exists(dir + name + ".vkbnn")) {
      argv.push_back(dir + name + ".vkbnn");
      ++models;
    }
  ASSERT_GE(models, 2u) << "fewer than two bundled models";
  for (const char* a : {"--image", "", "--frames", "40", "--cycle-models", "5", "--print-results", "--validation"})
    argv.emplace_back(a);
  argv[argv.size() - 7] = test::source_dir() + "/assets/images/8-sandal.png";
  auto r = test::run_process(argv);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(shown\s+([^\n]*))"))) << r.output;
  std::string shown = m[1];
  EXPECT_GE(std::count(shown.begin(), shown.end(), ' '), 2) << r.output;  // at least two models
  EXPECT_NE(r.output.find("top-1       Sandal"), std::string::npos) << r.output;
}

// The window shows the reason; --print-results prints it, and exits 1 for having no result.
TEST(StudioCamera, MissingDeviceIsAMessageNotACrash) {
  auto r = test::run_process({VKBNN_XVFB_RUN, "-a", "-s", "-screen 0 1280x900x24", VKBNN_STUDIO_PATH,
                              test::source_dir() + "/assets/models/fmnist-cnn-fp32.vkbnn", "--camera", "63",
                              "--frames", "5", "--validation", "--print-results"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("top-1       (none)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("error       cannot open /dev/video63: No such file or directory"), std::string::npos)
      << r.output;
}

INSTANTIATE_TEST_SUITE_P(BundledModels, Studio,
                         ::testing::Values("fmnist-cnn-fp32", "fmnist-bnn-el", "fmnist-cnn-int8"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

#endif

}  // namespace
}  // namespace vkbnn
