// Bad input reaches the user as one clear error line and exit code 1, never as a crash.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "support/onnx_graph.hpp"
#include "support/process.hpp"
#include "support/small_models.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

std::filesystem::path scratch(const std::string& name) {
  auto dir = std::filesystem::path(binary_dir()) / "cli_errors";
  std::filesystem::create_directories(dir);
  return dir / name;
}

void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void expect_clean_failure(const ProcessResult& r, const std::string& must_mention) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("error"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(must_mention), std::string::npos) << r.output;
}

TEST(CliErrors, MissingModelFile) {
  expect_clean_failure(run_process({tool_path("vkbnn-run"), "/nonexistent/model.vkbnn", "x.png"}),
                       "/nonexistent/model.vkbnn");
}

TEST(CliErrors, TruncatedAndCorruptModelFiles) {
  auto bytes = small_classifier(5);
  auto truncated = scratch("truncated.vkbnn");
  write_file(truncated, std::vector<uint8_t>(bytes.begin(), bytes.begin() + bytes.size() / 2));
  expect_clean_failure(run_process({tool_path("vkbnn-info"), "--model", truncated.string()}), "truncated.vkbnn");
  auto garbage = scratch("garbage.vkbnn");
  write_file(garbage, std::vector<uint8_t>(1000, 0xAB));
  expect_clean_failure(run_process({tool_path("vkbnn-run"), garbage.string(), "x.png"}), "garbage.vkbnn");
}

TEST(CliErrors, NonImageInput) {
  auto model = scratch("small.vkbnn");
  write_file(model, small_classifier(6));
  auto text = scratch("not-an-image.png");
  write_file(text, {'h', 'e', 'l', 'l', 'o', '\n'});
  expect_clean_failure(run_process({tool_path("vkbnn-run"), model.string(), text.string()}), "not-an-image.png");
  expect_clean_failure(run_process({tool_path("vkbnn-run"), model.string(), scratch("missing.png").string()}),
                       "missing.png");
}

TEST(CliErrors, UnsupportedOnnxOpNamesOpAndNode) {
  auto onnx = scratch("unsupported.onnx");
  auto made = run_process({python(), source_dir() + "/tests/python/make_unsupported_onnx.py", onnx.string()});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto r = run_process({tool_path("vkbnn-convert"), onnx.string(), "-o", scratch("unsupported.vkbnn").string()});
  expect_clean_failure(r, "LpNormalization");
  EXPECT_NE(r.output.find("my_unsupported_node"), std::string::npos) << r.output;
}

TEST(CliErrors, BadInputShapesAndBatch) {
  auto onnx = scratch("shapes.onnx");
  OnnxGraph graph;
  graph.input("input", {-1, 3, 8, 8});
  graph.node("Relu", {"input"}, {"output"});
  graph.output("output", {-1, 3, 8, 8});
  std::ofstream(onnx, std::ios::binary) << graph.model().SerializeAsString();
  auto convert = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv{tool_path("vkbnn-convert"), onnx.string(), "-o", scratch("shapes.vkbnn").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv);
  };
  expect_clean_failure(convert({"--input-shape", "input:1x3x8"}), "rank 4, the shape given has rank 3");
  expect_clean_failure(convert({"--input-shape", "input:1x3x0x8"}), "expected NAME:DxDx...");
  expect_clean_failure(convert({"--input-shape", "1x3x8x8"}), "expected NAME:DxDx...");
  expect_clean_failure(convert({"--input-shape", "other:1x3x8x8"}), "'other', which is not an input");
  expect_clean_failure(convert({"--input-shape", "input:1x3x8x8", "--input-shape", "input:1x3x4x4"}), "given twice");
  auto zero = convert({"--batch", "0"});
  EXPECT_EQ(zero.exit_code, 1) << zero.output;
  EXPECT_NE(zero.output.find("--batch"), std::string::npos) << zero.output;
  auto converted = convert({"--batch", "2"});
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
  EXPECT_NE(converted.output.find("2x3x8x8"), std::string::npos) << converted.output;
}

TEST(CliErrors, MissingAndInvalidOnnxFiles) {
  expect_clean_failure(run_process({tool_path("vkbnn-convert"), "/nonexistent.onnx", "-o", scratch("x.vkbnn").string()}),
                       "/nonexistent.onnx");
  auto junk = scratch("junk.onnx");
  write_file(junk, std::vector<uint8_t>(100, 0xFF));
  expect_clean_failure(run_process({tool_path("vkbnn-convert"), junk.string(), "-o", scratch("y.vkbnn").string()}),
                       "junk.onnx");
}

// Command-line mistakes exit 1 like every other error (CLI11's own codes are 105, 106, 109, ...).
TEST(CliErrors, BadCommandLinesExitWithOne) {
  auto model = scratch("small-cli.vkbnn");
  write_file(model, small_classifier(7));
  // Each with its required arguments, which CLI11 checks first.
  const std::vector<std::vector<std::string>> tools = {{"vkbnn-run", model.string(), "x.png"},
                                                       {"vkbnn-eval", model.string(), "--images", "x", "--labels", "y"},
                                                       {"vkbnn-info"},
                                                       {"vkbnn-bench", model.string()},
                                                       {"vkbnn-convert", "x.onnx", "-o", "x.vkbnn"}};
  for (auto args : tools) {
    SCOPED_TRACE(args[0]);
    args[0] = tool_path(args[0]);
    auto help = run_process({args[0], "--help"});
    EXPECT_EQ(help.exit_code, 0) << help.output;
    args.push_back("--no-such-option");
    auto unknown = run_process(args);
    EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
    EXPECT_NE(unknown.output.find("--no-such-option"), std::string::npos) << unknown.output;
  }
  auto iters = run_process({tool_path("vkbnn-bench"), model.string(), "--iters", "0"});
  EXPECT_EQ(iters.exit_code, 1) << iters.output;
  EXPECT_NE(iters.output.find("--iters: '0' is not a positive integer"), std::string::npos) << iters.output;
  auto limit = run_process({tool_path("vkbnn-eval"), model.string(), "--images", "x", "--labels", "y", "--limit", "-3"});
  EXPECT_EQ(limit.exit_code, 1) << limit.output;
  EXPECT_NE(limit.output.find("--limit: '-3' is not a positive integer"), std::string::npos) << limit.output;
  auto no_model = run_process({tool_path("vkbnn-run")});
  EXPECT_EQ(no_model.exit_code, 1) << no_model.output;
  EXPECT_NE(no_model.output.find("model is required"), std::string::npos) << no_model.output;
}

TEST(CliErrors, CorruptModelFileInBenchAndEval) {
  auto garbage = scratch("garbage-bench.vkbnn");
  write_file(garbage, std::vector<uint8_t>(1000, 0xAB));
  expect_clean_failure(run_process({tool_path("vkbnn-bench"), garbage.string(), "--iters", "2"}), "garbage-bench.vkbnn");
  const std::string fmnist = "/usr/share/datasets/fashion-mnist/";
  expect_clean_failure(run_process({tool_path("vkbnn-eval"), garbage.string(), "--images",
                                    fmnist + "t10k-images-idx3-ubyte.gz", "--labels",
                                    fmnist + "t10k-labels-idx1-ubyte.gz", "--limit", "5"}),
                       "garbage-bench.vkbnn");
}

// The ONNX files that once crashed vkbnn-convert or made it write a model the engine refused
// (tests/fuzz/crashes/converter, written by tests/fuzz/make_corpus.py): each is one error line
// and exit code 1, and no output file.
TEST(CliErrors, HostileOnnxFilesExitWithOneErrorLine) {
  const auto dir = std::filesystem::path(source_dir()) / "tests/fuzz/crashes/converter";
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".onnx") continue;
    ++files;
    SCOPED_TRACE(entry.path().filename().string());
    const auto out = scratch(entry.path().stem().string() + ".vkbnn");
    std::filesystem::remove(out);
    const auto r = run_process({tool_path("vkbnn-convert"), entry.path().string(), "-o", out.string()});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(r.output.starts_with("vkbnn-convert: error: ")) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(std::filesystem::exists(out));
  }
  EXPECT_GE(files, 12u);
}

}  // namespace
}  // namespace vkbnn::test
