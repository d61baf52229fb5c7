// vkbnn-bench's input files, duration mode, CSV and memory report, and vkbnn-info's heaps and
// model need, run as the user runs them (subprocesses under the validation layer).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "converter/writer/model_writer.hpp"
#include "support/process.hpp"
#include "support/small_models.hpp"
#include "support/test_support.hpp"
#include "tools/memory_report.hpp"
#include "vkbnn/io/npy.hpp"
#include "vkbnn/memory.hpp"
#include "vkbnn/vkbnn.hpp"

namespace vkbnn::tools {
namespace {

namespace fs = std::filesystem;

// A model with two inputs a and b of shape [2,3,4,4] and one output y = a - b, so that which
// file feeds which input shows in the output, and the batch is not 1.
std::vector<uint8_t> difference_model() {
  convert::ModelWriter w;
  auto& b = w.builder();
  const uint32_t a = w.add_tensor("a", {2, 3, 4, 4});
  const uint32_t bb = w.add_tensor("b", {2, 3, 4, 4});
  const uint32_t y = w.add_tensor("y", {2, 3, 4, 4});
  w.add_node("sub", fb::OpParams::Binary, fb::CreateBinary(b, fb::BinaryKind::Sub).Union(), {a, bb}, {y});
  w.set_inputs({a, bb});
  w.set_outputs({y});
  return w.finish();
}

// Tools run with the validation layer on; any message it prints fails the test.
test::ProcessResult run_tool(const std::string& tool, std::vector<std::string> args) {
  args.insert(args.begin(), {"env", "VKBNN_VALIDATION=sync", test::tool_path(tool)});
  test::ProcessResult r = test::run_process(args);
  EXPECT_EQ(r.output.find("Vulkan validation"), std::string::npos) << r.output;
  return r;
}

// "--input NAME=FILE"'s value. (Built by appending: GCC 12 misreports "x=" + s under -Wrestrict.)
std::string named(const std::string& name, const std::string& file) {
  std::string spec = name;
  spec.append("=").append(file);
  return spec;
}

nlohmann::json json_in(const std::string& output) {
  const size_t begin = output.find('{'), end = output.rfind('}');
  if (begin == std::string::npos || end == std::string::npos) return nullptr;
  return nlohmann::json::parse(output.substr(begin, end - begin + 1));
}

// RFC 4180 rows: quoted fields may hold commas and doubled quotes.
std::vector<std::vector<std::string>> parse_csv(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
        rows.back().back() += '"', ++i;
      else if (c == '"')
        quoted = false;
      else
        rows.back().back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().emplace_back();
    } else if (c == '\n') {
      rows.emplace_back(1);
    } else {
      rows.back().back() += c;
    }
  }
  if (rows.back() == std::vector<std::string>(1)) rows.pop_back();
  return rows;
}

class BenchTool : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("vkbnn_bench_" + std::string(info->name()) + "_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    classifier_bytes_ = test::small_classifier(21);
    classifier_ = write("small.vkbnn", classifier_bytes_);
    difference_bytes_ = difference_model();
    difference_ = write("difference.vkbnn", difference_bytes_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) const {
    std::ofstream(path(name), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path(name);
  }
  std::string write_tensor(const std::string& name, const std::vector<int64_t>& shape, uint32_t seed) const {
    io::write_npy(path(name), shape, test::random_vector(static_cast<size_t>(element_count(shape)), seed));
    return path(name);
  }

  fs::path dir_;
  std::vector<uint8_t> classifier_bytes_, difference_bytes_;
  std::string classifier_, difference_;
};

TEST_F(BenchTool, NpyInputsDriveTheOutputsDeterministically) {
  const std::string x1 = write_tensor("x1.npy", {1, 3, 9, 9}, 5), x2 = write_tensor("x2.npy", {1, 3, 9, 9}, 6);
  auto bench = [&](const std::string& input, const std::string& output) {
    const test::ProcessResult r =
        run_tool("vkbnn-bench", {classifier_, "--iters", "2", "--warmup", "1", "--input", input, "--output", output});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("input   input 1x3x9x9: " + input), std::string::npos) << r.output;
    return io::read_npy(output);
  };
  const io::NpyArray y1 = bench(x1, path("y1.npy")), y1_again = bench(x1, path("y1b.npy")), y2 = bench(x2, path("y2.npy"));
  const std::vector<Tensor> e1 = test::run_model(classifier_bytes_, {io::read_npy(x1).data});
  const std::vector<Tensor> e2 = test::run_model(classifier_bytes_, {io::read_npy(x2).data});
  EXPECT_EQ(y1.shape, (std::vector<int64_t>{1, 4}));
  EXPECT_TRUE(test::all_close(y1.data, e1[0].data, 1e-5f, 1e-6f));
  EXPECT_TRUE(test::all_close(y2.data, e2[0].data, 1e-5f, 1e-6f));
  EXPECT_EQ(y1.data, y1_again.data) << "the same file must give the same outputs";
  EXPECT_NE(y1.data, y2.data) << "another file must change the outputs";
}

TEST_F(BenchTool, NamedAndPositionalInputsAndTheBatch) {
  const std::vector<int64_t> shape = {2, 3, 4, 4};
  const std::string a = write_tensor("a.npy", shape, 7), b = write_tensor("b.npy", shape, 8);
  const std::vector<float> av = io::read_npy(a).data, bv = io::read_npy(b).data;
  std::vector<float> expected(av.size());
  for (size_t i = 0; i < av.size(); ++i) expected[i] = av[i] - bv[i];

  // Named in the other order than the model's, and positional in the model's order.
  for (const std::vector<std::string>& inputs :
       {std::vector<std::string>{"--input", named("b", b), "--input", named("a", a)},
        std::vector<std::string>{"--input", a, "--input", b}}) {
    std::vector<std::string> args = {difference_, "--iters", "3", "--warmup", "0", "--json", "--output", path("y.npy")};
    args.insert(args.end(), inputs.begin(), inputs.end());
    const test::ProcessResult r = run_tool("vkbnn-bench", args);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(test::all_close(io::read_npy(path("y.npy")).data, expected, 0.0f, 0.0f));
    const nlohmann::json report = json_in(r.output);
    EXPECT_EQ(report["batch"].get<int64_t>(), 2);
    EXPECT_EQ(report["inputs"][0]["source"], a);
    EXPECT_EQ(report["inputs"][1]["source"], b);
    EXPECT_EQ(report["iterations"].get<uint32_t>(), 3u);
    EXPECT_NEAR(report["images_per_s"].get<double>(), 2.0 * report["runs_per_s"].get<double>(),
                1e-9 * report["images_per_s"].get<double>());
  }

  // An input left out gets random values, and the report says so.
  const test::ProcessResult r = run_tool(
      "vkbnn-bench", {difference_, "--iters", "1", "--input", named("b", b), "--output", path("y.npy"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(json_in(r.output)["inputs"][0]["source"].get<std::string>().find("random"), std::string::npos);
  EXPECT_EQ(json_in(r.output)["inputs"][1]["source"], b);
}

TEST_F(BenchTool, DurationModeRunsForTheGivenTime) {
  constexpr double kSeconds = 1.5;
  const auto start = std::chrono::steady_clock::now();
  const test::ProcessResult r =
      run_tool("vkbnn-bench", {classifier_, "--duration-s", "1.5", "--warmup", "2", "--json"});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json report = json_in(r.output);
  const double measured = report["measured_s"].get<double>();
  const uint32_t runs = report["iterations"].get<uint32_t>();
  EXPECT_GE(measured, kSeconds);
  // The last run starts before the time is up, so the excess is at most about one run.
  const double run_s = report["stages"]["end_to_end"]["p90_us"].get<double>() * 1e-6;
  EXPECT_LT(measured, kSeconds + 20 * run_s + 0.25) << runs << " runs";
  EXPECT_GT(runs, 1u);
  EXPECT_EQ(report["sampled_runs"].get<uint32_t>(), runs) << "all runs are kept below 65536";
  EXPECT_EQ(report["warmup"].get<uint32_t>(), 2u);
  EXPECT_DOUBLE_EQ(report["duration_s"].get<double>(), kSeconds);
  EXPECT_NEAR(report["runs_per_s"].get<double>(), runs / measured, 1e-9 * runs / measured);
  EXPECT_GE(wall, kSeconds);
  EXPECT_EQ(report["layers"][0]["name"], "conv1");

  // A run longer than the duration still measures one run.
  const test::ProcessResult once =
      run_tool("vkbnn-bench", {classifier_, "--duration-s", "0.000001", "--warmup", "0", "--json"});
  ASSERT_EQ(once.exit_code, 0) << once.output;
  EXPECT_GE(json_in(once.output)["iterations"].get<uint32_t>(), 1u);

  for (const char* bad : {"0", "-1", "nan", "2s"}) {
    const test::ProcessResult refused = run_tool("vkbnn-bench", {classifier_, "--duration-s", bad});
    EXPECT_EQ(refused.exit_code, 1) << bad << ": " << refused.output;
    EXPECT_NE(refused.output.find("seconds"), std::string::npos) << refused.output;
  }
  const test::ProcessResult both = run_tool("vkbnn-bench", {classifier_, "--duration-s", "1", "--iters", "3"});
  EXPECT_EQ(both.exit_code, 1) << both.output;
  EXPECT_NE(both.output.find("excludes"), std::string::npos) << both.output;
}

TEST_F(BenchTool, CsvHasLayersStagesAndSummary) {
  const std::string csv = path("bench.csv");
  const test::ProcessResult r = run_tool(
      "vkbnn-bench", {classifier_, "--iters", "5", "--warmup", "1", "--json", "--csv", csv});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json report = json_in(r.output);
  const auto rows = parse_csv(csv);
  ASSERT_FALSE(rows.empty());
  const std::vector<std::string> header = {"row",    "name",   "op",     "precision", "output_shape", "macs",
                                           "median_us", "p10_us", "p90_us", "mean_us",   "gmacs_per_s",  "value"};
  EXPECT_EQ(rows[0], header);
  std::vector<std::vector<std::string>> layers, stages;
  std::map<std::string, std::string> summary;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), header.size()) << "row " << i;
    if (rows[i][0] == "layer") layers.push_back(rows[i]);
    else if (rows[i][0] == "stage") stages.push_back(rows[i]);
    else if (rows[i][0] == "summary") summary[rows[i][1]] = rows[i][11];
    else ADD_FAILURE() << "unexpected row kind " << rows[i][0];
  }
  ASSERT_EQ(layers.size(), report["layers"].size());
  for (size_t k = 0; k < layers.size(); ++k) {
    const nlohmann::json& l = report["layers"][k];
    EXPECT_EQ(layers[k][1], l["name"].get<std::string>());
    EXPECT_EQ(layers[k][2], l["op"].get<std::string>());
    EXPECT_EQ(layers[k][3], l["precision"].get<std::string>());
    EXPECT_EQ(std::stoull(layers[k][5]), l["macs"].get<uint64_t>());
    const double median = std::stod(layers[k][6]);
    EXPECT_NEAR(median, l["median_us"].get<double>(), 1e-5 * median + 1e-9);
    EXPECT_LE(std::stod(layers[k][7]), median);
    EXPECT_LE(median, std::stod(layers[k][8]));
  }
  EXPECT_EQ(layers[0][4], "1x8x9x9");
  std::vector<std::string> stage_names;
  for (const auto& s : stages) stage_names.push_back(s[1]);
  EXPECT_EQ(stage_names, (std::vector<std::string>{"end_to_end", "upload", "submit", "wait", "readback",
                                                   "gpu_span", "layers_sum"}));
  EXPECT_NEAR(std::stod(stages[0][6]), report["totals"]["end_to_end_median_us"].get<double>(),
              1e-5 * report["totals"]["end_to_end_median_us"].get<double>());

  EXPECT_EQ(summary["batch"], "1");
  EXPECT_EQ(summary["runs"], "5");
  Network network(test::context(), Model::from_bytes(classifier_bytes_));
  const MemoryReport memory = network.memory();
  EXPECT_EQ(summary["device_weight_bytes"], std::to_string(memory.weight_bytes));
  EXPECT_EQ(summary["device_arena_bytes"], std::to_string(memory.arena_bytes));
  EXPECT_EQ(summary["device_staging_bytes"], std::to_string(memory.staging_bytes));
  EXPECT_EQ(summary["device_total_bytes"], std::to_string(network_bytes(memory)));
  EXPECT_GT(std::stoull(summary["host_peak_rss_bytes"]), 1u << 20) << "a Vulkan process holds more than 1 MiB";
  EXPECT_GT(std::stod(summary["images_per_s"]), 0.0);
  for (const char* key : {"measured_s", "runs_per_s", "macs"}) EXPECT_TRUE(summary.count(key)) << key;
}

TEST_F(BenchTool, ReportsMemoryAgainstTheHeaps) {
  const test::ProcessResult text = run_tool("vkbnn-bench", {classifier_, "--iters", "2"});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  const test::ProcessResult json = run_tool("vkbnn-bench", {classifier_, "--iters", "2", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const nlohmann::json memory = json_in(json.output)["memory"];

  const MemoryReport expected = Network(test::context(), Model::from_bytes(classifier_bytes_)).memory();
  EXPECT_EQ(memory["device"]["total_bytes"].get<uint64_t>(), network_bytes(expected));
  EXPECT_EQ(memory["device"]["weight_bytes"].get<uint64_t>(), expected.weight_bytes);
  EXPECT_NE(text.output.find("model needs " + bytes_string(network_bytes(expected)) + " (" +
                             std::to_string(network_bytes(expected)) + " bytes)"),
            std::string::npos)
      << text.output;
  EXPECT_GT(memory["host_peak_rss_bytes"].get<uint64_t>(), 1u << 20);
  EXPECT_NE(text.output.find("host peak RSS "), std::string::npos) << text.output;

  const DeviceMemory device = memory_heaps(test::context());
  ASSERT_EQ(memory["heaps"].size(), device.heaps.size());
  EXPECT_EQ(memory["memory_budget"].get<bool>(), device.budget);
  for (size_t i = 0; i < device.heaps.size(); ++i) {
    EXPECT_EQ(memory["heaps"][i]["size_bytes"].get<uint64_t>(), device.heaps[i].size);
    EXPECT_NE(text.output.find("heap " + std::to_string(i) + "  " + bytes_string(device.heaps[i].size)),
              std::string::npos)
        << text.output;
  }
  // lavapipe has no VK_EXT_memory_budget; a GPU with it reports a budget per heap.
  EXPECT_NE(text.output.find(device.budget ? "; budget " : "budget: not reported by the device"),
            std::string::npos)
      << text.output;
}

TEST_F(BenchTool, BadInputsFailWithOneClearError) {
  const std::vector<int64_t> shape = {2, 3, 4, 4};
  const std::string a = write_tensor("a.npy", shape, 1);
  io::write_npy(path("small.npy"), std::vector<int64_t>{2, 2}, std::vector<float>(4, 1.0f));
  std::vector<float> with_nan(96, 0.5f);
  with_nan[17] = std::numeric_limits<float>::quiet_NaN();
  io::write_npy(path("nan.npy"), shape, with_nan);
  write("text.npy", {'h', 'e', 'l', 'l', 'o'});

  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--input", path("small.npy"), "--input", a}, path("small.npy") + "' has shape 2x2 but the input 'a' is 2x3x4x4"},
      {{"--input", named("a", path("text.npy"))}, "text.npy"},
      {{"--input", named("a", path("missing.npy"))}, "missing.npy"},
      {{"--input", named("c", a)}, "no input named 'c' (its inputs: 'a', 'b')"},
      {{"--input", a}, "the model has 2 input(s) ('a', 'b') but 1 --input file(s)"},
      {{"--input", named("a", a), "--input", named("a", a)}, "names 'a' twice"},
      {{"--input", named("a", a), "--input", a}, "not both"},
      {{"--input", named("b", path("nan.npy"))}, "NaN"},
      {{"--output", path("y.npy"), "--output", path("z.npy")}, "1 output(s) but 2 --output"},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> argv = {difference_, "--iters", "1"};
    argv.insert(argv.end(), args.begin(), args.end());
    const test::ProcessResult r = run_tool("vkbnn-bench", argv);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_EQ(r.output.rfind("vkbnn-bench: error: ", 0), 0u) << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << "expected '" << message << "' in: " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  EXPECT_FALSE(fs::exists(path("y.npy")));
}

TEST_F(BenchTool, InfoShowsHeapsAndWhatTheModelNeeds) {
  const test::ProcessResult text = run_tool("vkbnn-info", {"--model", classifier_});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  const test::ProcessResult json = run_tool("vkbnn-info", {"--model", classifier_, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const nlohmann::json report = json_in(json.output);

  const MemoryReport expected = Network(test::context(), Model::from_bytes(classifier_bytes_)).memory();
  const nlohmann::json& need = report["model"]["memory"];
  EXPECT_EQ(need["total_bytes"].get<uint64_t>(), network_bytes(expected));
  EXPECT_EQ(need["arena_bytes"].get<uint64_t>(), expected.arena_bytes);
  EXPECT_EQ(need["staging_bytes"].get<uint64_t>(), expected.staging_bytes);
  uint64_t placed = 0;
  for (const auto& h : need["heaps"]) placed += h["bytes"].get<uint64_t>();
  EXPECT_EQ(placed, network_bytes(expected)) << "every byte lands on some heap";
  EXPECT_NE(text.output.find("model needs " + bytes_string(network_bytes(expected)) + " (" +
                             std::to_string(network_bytes(expected)) + " bytes): weights " +
                             bytes_string(expected.weight_bytes) + " + arena " + bytes_string(expected.arena_bytes) +
                             " + staging " + bytes_string(expected.staging_bytes)),
            std::string::npos)
      << text.output;
  EXPECT_NE(text.output.find("  on heap "), std::string::npos) << text.output;

  const DeviceInfo& used = test::context().device();
  for (const auto& d : report["devices"]) {
    if (d["name"] == used.name) {
      EXPECT_EQ(d["max_memory_allocation_size"].get<uint64_t>(), used.max_memory_allocation_size);
    }
    ASSERT_FALSE(d["heaps"].empty());
    for (const auto& h : d["heaps"]) {
      EXPECT_GT(h["size_bytes"].get<uint64_t>(), 0u);
      EXPECT_EQ(h.contains("budget_bytes"), d["memory_budget"].get<bool>());
    }
  }
  char allocation[64];
  std::snprintf(allocation, sizeof allocation, "  max memory allocation     %.1f MiB\n",
                static_cast<double>(used.max_memory_allocation_size) / (1 << 20));
  EXPECT_NE(text.output.find(allocation), std::string::npos) << text.output;
  const DeviceMemory device = memory_heaps(test::context());
  ASSERT_FALSE(device.heaps.empty());
  EXPECT_NE(text.output.find("    heap 0  " + bytes_string(device.heaps[0].size)), std::string::npos) << text.output;
  EXPECT_NE(text.output.find(device.budget ? "; budget " : "budget: not reported by the device"),
            std::string::npos)
      << text.output;
}

TEST(MemoryReport, PlacesWeightsArenaAndStaging) {
  const MemoryReport memory{.weight_bytes = 100, .arena_bytes = 20, .naive_arena_bytes = 50, .staging_bytes = 3};
  // A discrete GPU: VRAM, and system memory that is host-visible.
  std::vector<MemoryHeap> heaps(2);
  heaps[0] = {.size = 8ull << 30, .device_local = true, .host_visible = false};
  heaps[1] = {.size = 16ull << 30, .device_local = false, .host_visible = true};
  auto needs = place_on_heaps(memory, heaps);
  ASSERT_EQ(needs.size(), 2u);
  EXPECT_EQ(needs[0].heap, 0u);
  EXPECT_EQ(needs[0].bytes, 120u);
  EXPECT_EQ(needs[1].heap, 1u);
  EXPECT_EQ(needs[1].bytes, 3u);
  // Unified memory: one heap takes it all.
  needs = place_on_heaps(memory, {{.size = 1 << 30, .device_local = true, .host_visible = true}});
  ASSERT_EQ(needs.size(), 1u);
  EXPECT_EQ(needs[0].bytes, 123u);
  EXPECT_EQ(bytes_string(512), "512 B");
  EXPECT_EQ(bytes_string(1536), "1.5 KiB");
  EXPECT_EQ(bytes_string(3ull << 30), "3.00 GiB");
  const DeviceMemory budgeted{.budget = true,
                              .heaps = {{.size = 1 << 30, .device_local = true, .budget = 1 << 29, .usage = 1 << 20}}};
  const std::string with_budget = format_heaps(budgeted, "");
  EXPECT_EQ(with_budget, "heap 0  1.00 GiB, device-local; budget 512.0 MiB, in use 1.0 MiB\n");
  heaps[0].size = 1000;
  const std::string need = format_need(memory, {.budget = false, .heaps = heaps}, "");
  EXPECT_NE(need.find("on heap 0: 120 B, 12% of its size 1000 B"), std::string::npos) << need;
  EXPECT_NE(need.find("on heap 1: 3 B,"), std::string::npos) << need;
}

}  // namespace
}  // namespace vkbnn::tools
