// vkbnn-eval on image folders and list files, run as a subprocess on folders made from the
// bundled images; the expected scores come from the library run on each image.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#ifdef __linux__
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/classify.hpp"
#include "vkbnn/io/datasets.hpp"
#include "vkbnn/io/image_input.hpp"
#include "vkbnn/vkbnn.hpp"

namespace vkbnn::io {
namespace {

namespace fs = std::filesystem;

const fs::path kModel = fs::path(VKBNN_SOURCE_DIR) / "assets/models/fmnist-cnn-fp32.vkbnn";

// The bundled images, named "<n>-<class>.png": the class part, e.g. "ankle-boot", "t-shirt-top".
std::vector<fs::path> bundled_images() {
  std::vector<fs::path> images;
  for (const auto& entry : fs::directory_iterator(fs::path(VKBNN_SOURCE_DIR) / "assets/images"))
    if (entry.path().extension() == ".png") images.push_back(entry.path());
  std::sort(images.begin(), images.end());
  return images;
}

std::string class_part(const fs::path& image) {
  const std::string stem = image.stem().string();
  return stem.substr(stem.find('-') + 1);
}

nlohmann::json json_in(const std::string& output) {
  const size_t begin = output.find('{'), end = output.rfind('}');
  if (begin == std::string::npos || end == std::string::npos) return nullptr;
  return nlohmann::json::parse(output.substr(begin, end - begin + 1));
}

struct Expected {
  size_t images = 0, top1 = 0, top5 = 0;
  std::vector<std::vector<size_t>> confusion = std::vector<std::vector<size_t>>(10, std::vector<size_t>(10, 0));
};

class EvalFolders : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vkbnn_eval_" + std::string(::testing::UnitTest::GetInstance()
                                                                         ->current_test_info()
                                                                         ->name()) +
                                        "_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void place(const fs::path& image, const fs::path& relative) {
    fs::create_directories((dir_ / relative).parent_path());
    fs::copy_file(image, dir_ / relative);
  }

  // What the network answers for each image, through the library, scored against `label`.
  void expect(Expected& e, const fs::path& image, size_t label) {
    const std::vector<float> input = preprocess(load_image(image), input_layout(model_));
    const Tensor out = network_.run(std::span<const float>(input));
    const std::vector<Ranked> ranked = top_k(out.data, 5);
    ++e.images;
    e.top1 += ranked[0].index == label;
    for (const Ranked& r : ranked) e.top5 += r.index == label;
    ++e.confusion[label][ranked[0].index];
  }

  void check(const test::ProcessResult& r, const Expected& e, const std::string& mapping) {
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const nlohmann::json report = json_in(r.output);
    ASSERT_TRUE(report.is_object()) << r.output;
    EXPECT_EQ(report["images"].get<size_t>(), e.images);
    EXPECT_DOUBLE_EQ(report["top1"].get<double>(), static_cast<double>(e.top1) / e.images);
    EXPECT_DOUBLE_EQ(report["top5"].get<double>(), static_cast<double>(e.top5) / e.images);
    EXPECT_EQ(report["confusion"].get<std::vector<std::vector<size_t>>>(), e.confusion);
    EXPECT_EQ(report["classes"].get<std::vector<std::string>>(), model_.metadata().labels);
    EXPECT_EQ(report["class_mapping"].get<std::string>(), mapping);
  }

  fs::path dir_;
  Model model_ = Model::load(kModel);
  Network network_{test::context(), model_};
};

TEST_F(EvalFolders, SubfoldersMatchTheModelsLabels) {
  // Folder names like "ankle-boot" and "t-shirt-top" stand for "Ankle boot" and "T-shirt/top".
  Expected e;
  const std::vector<std::string>& labels = model_.metadata().labels;
  for (const fs::path& image : bundled_images()) {
    const std::string name = class_part(image);
    const auto label = std::find_if(labels.begin(), labels.end(), [&](std::string l) {
      std::replace_if(l.begin(), l.end(), [](char c) { return c == ' ' || c == '/'; }, '-');
      std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
      return l == name;
    });
    ASSERT_NE(label, labels.end()) << name;
    place(image, fs::path(name) / image.filename());
    expect(e, image, static_cast<size_t>(label - labels.begin()));
  }
  // A shirt filed as a coat and a bag as a dress, in a nested folder: two wrong answers.
  const fs::path shirt = fs::path(VKBNN_SOURCE_DIR) / "assets/images/4-shirt.png";
  const fs::path bag = fs::path(VKBNN_SOURCE_DIR) / "assets/images/18-bag.png";
  place(shirt, "coat/more/misfiled.png");
  place(bag, "dress/misfiled.jpg.png");
  expect(e, shirt, 4);
  expect(e, bag, 3);
  std::ofstream(dir_ / "dress" / "notes.txt") << "not an image, skipped";
  ASSERT_EQ(e.images, 12u);
  ASSERT_LE(e.top1, 11u) << "the misfiled images should count as errors";

  check(test::run_process({test::tool_path("vkbnn-eval"), kModel.string(), "--folder", dir_.string(), "--json"}), e,
        "subfolders matched to the model's labels");
}

TEST_F(EvalFolders, SortedClassOrderIsTorchvisions) {
  // The same folders, classes taken in sorted name order: "ankle-boot" is class 0, "bag" 1, ...
  std::map<std::string, fs::path> by_name;
  for (const fs::path& image : bundled_images()) {
    by_name[class_part(image)] = image;
    place(image, fs::path(class_part(image)) / image.filename());
  }
  Expected sorted;
  size_t index = 0;
  for (const auto& [name, image] : by_name) expect(sorted, image, index++);
  check(test::run_process({test::tool_path("vkbnn-eval"), kModel.string(), "--folder", dir_.string(), "--json",
                           "--class-order", "sorted"}),
        sorted, "subfolders in sorted name order (ImageFolder)");

  // Names that match no label fall back to the sorted order without being asked.
  fs::remove_all(dir_);
  Expected fallback;
  index = 0;
  for (const auto& [name, image] : by_name) {
    place(image, fs::path("class" + std::to_string(index)) / image.filename());
    expect(fallback, image, index++);
  }
  check(test::run_process({test::tool_path("vkbnn-eval"), kModel.string(), "--folder", dir_.string(), "--json"}),
        fallback, "subfolders in sorted name order (ImageFolder)");
}

TEST_F(EvalFolders, ListFileOfPathsAndClassIndices) {
  Expected e;
  std::ofstream list(dir_ / "val.txt");
  list << "# path label\n\n";
  size_t n = 0;
  for (const fs::path& image : bundled_images()) {
    const size_t label = std::stoul(image.stem().string()) % 10;  // the number in the name, not the class
    const fs::path relative = fs::path("with space") / ("img " + std::to_string(n++) + ".png");
    place(image, relative);
    list << relative.string() << " \t" << label << "\r\n";
    expect(e, image, label);
  }
  list.close();
  check(test::run_process({test::tool_path("vkbnn-eval"), kModel.string(), "--list", (dir_ / "val.txt").string(),
                           "--json"}),
        e, "class indices from the list file");
}

TEST_F(EvalFolders, BadFoldersAndListsAreClearErrors) {
  const fs::path image = bundled_images().front();
  auto eval = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {test::tool_path("vkbnn-eval"), kModel.string()});
    return test::run_process(args);
  };
  auto expect_error = [](const test::ProcessResult& r, const std::string& part) {
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("vkbnn-eval: error: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(part), std::string::npos) << r.output;
  };

  place(image, "bag/a.png");
  place(image, "Unknown Thing/b.png");
  expect_error(eval({"--folder", dir_.string()}), "the subfolder 'Unknown Thing' matches none of the model's labels");
  fs::remove_all(dir_ / "Unknown Thing");
  fs::create_directories(dir_ / "coat");
  expect_error(eval({"--folder", dir_.string()}), "holds no images");
  std::ofstream(dir_ / "coat" / "broken.png") << "not a png";
  expect_error(eval({"--folder", dir_.string()}), "broken.png");
  fs::remove_all(dir_ / "coat");
  place(image, "BAG/c.png");
  expect_error(eval({"--folder", dir_.string()}), "both match the label 'Bag'");
  expect_error(eval({"--folder", (dir_ / "missing").string()}), "is not a folder");

  std::ofstream(dir_ / "list.txt") << "bag/a.png 8\nbag/a.png eight\n";
  expect_error(eval({"--list", (dir_ / "list.txt").string()}), "list.txt:2: the label 'eight' is not a class index");
  std::ofstream(dir_ / "list.txt") << "bag/a.png 10\n";
  expect_error(eval({"--list", (dir_ / "list.txt").string()}), "list.txt:1: the label 10 is outside the model's 10 classes");
  std::ofstream(dir_ / "list.txt") << "lonely\n";
  expect_error(eval({"--list", (dir_ / "list.txt").string()}), "list.txt:1: expected 'path label'");
  std::ofstream(dir_ / "list.txt") << "# nothing\n";
  expect_error(eval({"--list", (dir_ / "list.txt").string()}), "names no images");
  expect_error(eval({}), "give --images and --labels, --folder or --list");
}

#ifdef __linux__
// The tool's output with stderr on a pseudo-terminal, as a user at a shell sees it.
std::string run_on_terminal(const std::vector<std::string>& argv) {
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  std::string output;
  char chunk[4096];
  for (ssize_t n; (n = read(master, chunk, sizeof chunk)) > 0;) output.append(chunk, static_cast<size_t>(n));
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  return output;
}

TEST_F(EvalFolders, ProgressBarOnlyOnATerminal) {
  for (const fs::path& image : bundled_images()) place(image, fs::path(class_part(image)) / image.filename());
  const std::vector<std::string> argv{test::tool_path("vkbnn-eval"), kModel.string(), "--folder", dir_.string()};
  const std::string terminal = run_on_terminal(argv);
  EXPECT_NE(terminal.find("\r[" + std::string(30, '#') + "] 10/10"), std::string::npos) << terminal;
  EXPECT_NE(terminal.find("top-1       100.00%"), std::string::npos) << terminal;
  const test::ProcessResult piped = test::run_process(argv);
  ASSERT_EQ(piped.exit_code, 0) << piped.output;
  EXPECT_EQ(piped.output.find('\r'), std::string::npos) << piped.output;
  EXPECT_NE(piped.output.find("vkbnn-eval: 10/10 images, top-1 100.00%"), std::string::npos) << piped.output;
}
#endif

}  // namespace
}  // namespace vkbnn::io
