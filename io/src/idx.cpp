#include "vkbnn/io/idx.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>

#include <zlib.h>

#include "vkbnn/error.hpp"

namespace vkbnn::io {
namespace {

// Images larger than this per side are not what an IDX classifier dataset holds.
constexpr uint32_t kMaxSide = 1 << 14;
// Data is read in pieces of this size, so a header that lies about the count costs only the
// memory for the data that is really there.
constexpr size_t kChunk = size_t{64} << 20;

// gzread passes plain files through unchanged, so one reader serves both kinds.
class Reader {
 public:
  explicit Reader(const std::filesystem::path& path) : name_(path.string()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw Error("cannot open '" + name_ + "': no such file");
    if (!std::filesystem::is_regular_file(path, ec)) throw Error("'" + name_ + "' is not a regular file");
    file_.reset(gzopen(name_.c_str(), "rb"));
    if (!file_) throw Error("cannot open '" + name_ + "': " + std::strerror(errno));
  }

  // Reads up to size bytes; fewer only at the end of the data.
  size_t read(uint8_t* out, size_t size) {
    size_t done = 0;
    while (done < size) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(size - done, 1u << 30));
      const int got = gzread(file_.get(), out + done, chunk);
      if (got < 0) fail_zlib();
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    // A gzip stream cut short reads as a short stream plus an error state.
    int code = Z_OK;
    gzerror(file_.get(), &code);
    if (code != Z_OK && code != Z_STREAM_END) fail_zlib();
    return done;
  }

  std::vector<uint8_t> read_exact(uint64_t size, const char* what) {
    std::vector<uint8_t> out;
    while (out.size() < size) {
      const size_t before = out.size();
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(size - before, kChunk));
      out.resize(before + chunk);
      const size_t got = read(out.data() + before, chunk);
      if (got != chunk)
        throw Error("'" + name_ + "' is truncated: its " + what + " should be " + std::to_string(size) +
                    " bytes but only " + std::to_string(before + got) + " are there");
    }
    return out;
  }

  void expect_end() {
    uint8_t extra = 0;
    if (read(&extra, 1) != 0) throw Error("'" + name_ + "' has more data than its header describes");
  }

  const std::string& name() const { return name_; }

 private:
  [[noreturn]] void fail_zlib() {
    int code = Z_OK;
    std::string message = gzerror(file_.get(), &code);
    // zlib prefixes the path, which the message below already names.
    if (message.starts_with(name_ + ": ")) message.erase(0, name_.size() + 2);
    throw Error("'" + name_ + "' is corrupt or truncated (" + message + ")");
  }

  struct Close {
    void operator()(gzFile f) const { gzclose(f); }
  };
  std::string name_;
  std::unique_ptr<gzFile_s, Close> file_;
};

uint32_t big_endian(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

std::string hex(uint32_t v) {
  std::ostringstream s;
  s << "0x" << std::hex;
  s.width(8);
  s.fill('0');
  s << v;
  return s.str();
}

// Reads the magic and the dimension sizes that follow it.
std::vector<uint32_t> read_header(Reader& reader, uint32_t magic, size_t dims, const char* kind) {
  std::vector<uint8_t> header(4 * (1 + dims));
  const size_t got = reader.read(header.data(), header.size());
  if (got >= 4 && big_endian(header.data()) != magic)
    throw Error("'" + reader.name() + "' is not an IDX " + kind + " file (magic " + hex(big_endian(header.data())) +
                ", expected " + hex(magic) + ")");
  if (got != header.size()) throw Error("'" + reader.name() + "' is truncated in its IDX header");
  std::vector<uint32_t> sizes;
  for (size_t i = 1; i <= dims; ++i) sizes.push_back(big_endian(header.data() + 4 * i));
  return sizes;
}

}  // namespace

IdxImages read_idx_images(const std::filesystem::path& path) {
  Reader reader(path);
  const std::vector<uint32_t> sizes = read_header(reader, 0x00000803, 3, "images");
  IdxImages images{sizes[0], sizes[1], sizes[2], {}};
  if (images.rows == 0 || images.cols == 0 || images.rows > kMaxSide || images.cols > kMaxSide)
    throw Error("'" + reader.name() + "' has images of " + std::to_string(images.rows) + "x" +
                std::to_string(images.cols) + " pixels, which is not a plausible size");
  images.pixels = reader.read_exact(uint64_t{images.count} * images.rows * images.cols, "pixel data");
  reader.expect_end();
  return images;
}

std::vector<uint8_t> read_idx_labels(const std::filesystem::path& path) {
  Reader reader(path);
  const std::vector<uint32_t> sizes = read_header(reader, 0x00000801, 1, "labels");
  std::vector<uint8_t> labels = reader.read_exact(sizes[0], "label data");
  reader.expect_end();
  return labels;
}

}  // namespace vkbnn::io
