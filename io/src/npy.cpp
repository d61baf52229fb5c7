#include "vkbnn/io/npy.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>

#include "vkbnn/io/files.hpp"
#include "vkbnn/error.hpp"

namespace vkbnn::io {
namespace {

// The payload is copied byte for byte into float32; a big-endian host would need swapping.
static_assert(std::endian::native == std::endian::little, "the .npy reader assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

// The header is a Python dict literal written by numpy, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }
// This reads exactly that grammar: string keys, and string, boolean or int-tuple values.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& origin) : text_(text), origin_(origin) {}

  struct Fields {
    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<std::vector<int64_t>> shape;
  };

  Fields parse() {
    Fields fields;
    expect('{');
    while (!accept('}')) {
      std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        fields.descr = string_literal();
      } else if (key == "fortran_order") {
        fields.fortran_order = boolean();
      } else if (key == "shape") {
        fields.shape = tuple();
      } else {
        fail("has an unknown header key '" + key + "'");
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail("has text after the header dict");
    return fields;
  }

  [[noreturn]] void fail(const std::string& what) const { throw Error(origin_ + ": .npy file " + what); }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("has a malformed header (expected '") + c + "')");
  }
  std::string string_literal() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) fail("has a malformed header (expected a string)");
    char quote = text_[pos_++];
    size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) fail("has a malformed header (unterminated string)");
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (auto [word, value] : {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    fail("has a malformed header (expected True or False)");
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> dims;
    expect('(');
    while (!accept(')')) {
      skip_space();
      int64_t value = 0;
      size_t digits = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("has a dimension that is too large");
        value = value * 10 + (text_[pos_++] - '0');
        ++digits;
      }
      if (digits == 0) fail("has a malformed shape");
      dims.push_back(value);
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return dims;
  }

  std::string_view text_;
  const std::string& origin_;
  size_t pos_ = 0;
};

uint32_t read_le(std::span<const uint8_t> bytes, size_t offset, size_t width) {
  uint32_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= static_cast<uint32_t>(bytes[offset + i]) << (8 * i);
  return v;
}

std::string shape_text(std::span<const int64_t> shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

}  // namespace

NpyArray parse_npy(std::span<const uint8_t> bytes, const std::string& origin) {
  if (bytes.size() < kMagicSize + 2 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0)
    throw Error(origin + ": not a .npy file (bad magic)");
  const uint8_t major = bytes[6];
  if (major < 1 || major > 3)
    throw Error(origin + ": .npy format version " + std::to_string(major) + "." + std::to_string(bytes[7]) +
                " is not supported");
  const size_t length_width = major == 1 ? 2 : 4;
  const size_t header_start = kMagicSize + 2 + length_width;
  if (bytes.size() < header_start) throw Error(origin + ": .npy file is truncated in its header");
  const size_t header_length = read_le(bytes, kMagicSize + 2, length_width);
  if (bytes.size() - header_start < header_length) throw Error(origin + ": .npy file is truncated in its header");

  std::string_view header(reinterpret_cast<const char*>(bytes.data() + header_start), header_length);
  HeaderParser parser(header, origin);
  HeaderParser::Fields fields = parser.parse();
  if (!fields.descr || !fields.fortran_order || !fields.shape) parser.fail("header lacks descr, fortran_order or shape");
  if (*fields.descr != "<f4")
    parser.fail("has dtype '" + *fields.descr + "'; only little-endian float32 ('<f4') is supported");
  if (*fields.fortran_order) parser.fail("is in Fortran order; only C order is supported");

  NpyArray array;
  array.shape = *fields.shape;
  uint64_t elements = 1;
  for (int64_t d : array.shape) {
    if (d != 0 && elements > std::numeric_limits<uint64_t>::max() / sizeof(float) / static_cast<uint64_t>(d))
      parser.fail("has shape " + shape_text(array.shape) + ", which is too large");
    elements *= static_cast<uint64_t>(d);
  }
  const size_t payload = bytes.size() - header_start - header_length;
  if (payload != elements * sizeof(float))
    parser.fail("has shape " + shape_text(array.shape) + " (" + std::to_string(elements * sizeof(float)) +
                " bytes) but holds " + std::to_string(payload) + " bytes of data");
  array.data.resize(elements);
  if (elements) std::memcpy(array.data.data(), bytes.data() + header_start + header_length, payload);
  return array;
}

NpyArray read_npy(const std::filesystem::path& path) { return parse_npy(read_file(path), path.string()); }

namespace {

// The .npy bytes of `data` (little-endian elements of dtype `descr`) in C order.
template <typename T>
std::vector<uint8_t> format_array(std::span<const int64_t> shape, std::span<const T> data, const std::string& descr) {
  uint64_t elements = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error("cannot write a .npy array with a negative dimension");
    elements *= static_cast<uint64_t>(d);
  }
  if (elements != data.size())
    throw Error("cannot write a .npy array of shape " + shape_text(shape) + " from " + std::to_string(data.size()) +
                " values");

  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  // numpy pads the header with spaces and a newline so that the data starts 64-byte aligned.
  const uint8_t major = dict.size() + 1 + kMagicSize + 4 > 0xffff ? 2 : 1;
  const size_t prefix = kMagicSize + 2 + (major == 1 ? 2 : 4);
  const size_t padded = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(padded - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');

  std::vector<uint8_t> bytes(kMagic, kMagic + kMagicSize);
  bytes.push_back(major);
  bytes.push_back(0);
  for (size_t i = 0; i < prefix - kMagicSize - 2; ++i) bytes.push_back(static_cast<uint8_t>(dict.size() >> (8 * i)));
  bytes.insert(bytes.end(), dict.begin(), dict.end());
  const auto* raw = reinterpret_cast<const uint8_t*>(data.data());
  bytes.insert(bytes.end(), raw, raw + data.size_bytes());
  return bytes;
}

}  // namespace

std::vector<uint8_t> format_npy(std::span<const int64_t> shape, std::span<const float> data) {
  return format_array(shape, data, "<f4");
}

std::vector<uint8_t> format_npy(std::span<const int64_t> shape, std::span<const int64_t> data) {
  return format_array(shape, data, "<i8");
}

std::vector<uint8_t> format_npy(std::span<const int64_t> shape, std::span<const bool> data) {
  static_assert(sizeof(bool) == 1, "numpy's bool is one byte");
  return format_array(shape, data, "|b1");
}

void write_npy(const std::filesystem::path& path, std::span<const int64_t> shape, std::span<const float> data) {
  write_file(path, format_npy(shape, data));
}

void write_output_npy(const std::filesystem::path& path, std::span<const int64_t> shape, std::span<const float> data,
                      const TensorDesc& desc) {
  if (desc.integer) {
    std::vector<int64_t> values(data.begin(), data.end());
    return write_file(path, format_npy(shape, std::span<const int64_t>(values)));
  }
  if (desc.boolean) {
    // std::vector<bool> packs bits; numpy's bools are bytes.
    const auto values = std::make_unique<bool[]>(data.size());
    std::transform(data.begin(), data.end(), values.get(), [](float v) { return v != 0.0f; });
    return write_file(path, format_npy(shape, std::span<const bool>(values.get(), data.size())));
  }
  write_npy(path, shape, data);
}

}  // namespace vkbnn::io
