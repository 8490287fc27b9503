#pragma once
/// @file io_test_util.h
/// @brief Helpers for the file tests: a temporary folder, raw file bytes, and a check
/// that a reader's error names the file.

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "test_util.h"

namespace zoo::test {

/// A fresh folder under the system's temporary folder, deleted with everything in it
/// when the object goes out of scope.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("zoo-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// `folder/name`.
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  /// The folder.
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// All bytes of a file.
inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.is_open());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Writes `bytes` to a file, replacing it.
inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

/// REQUIREs that `f()` throws a `zoo::Error` whose message names `path` and contains
/// `fragment` (when given).
template <class F>
void require_error_naming(const std::filesystem::path& path, F&& f,
                          const std::string& fragment = "") {
  try {
    f();
  } catch (const zoo::Error& e) {
    const std::string message = e.what();
    INFO("message: " << message);
    CHECK(message.find(path.string()) != std::string::npos);
    if (!fragment.empty()) CHECK(message.find(fragment) != std::string::npos);
    return;
  }
  FAIL("expected a zoo::Error naming " << path.string());
}

/// Same shape, dtype and bytes (so NaNs compare equal to themselves).
inline bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  const std::size_t size = element_size(a.dtype());
  return std::memcmp(static_cast<const char*>(ca.storage().data()) + ca.offset() * size,
                     static_cast<const char*>(cb.storage().data()) + cb.offset() * size,
                     static_cast<std::size_t>(a.numel()) * size) == 0;
}

}  // namespace zoo::test
