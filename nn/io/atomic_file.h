#pragma once
/// @file atomic_file.h
/// @brief Writing a file so that readers see the old file or the new one, never half of one.

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace zoo::nn {

/// Writes a file atomically. The bytes go to a temporary file in the same directory;
/// `commit()` flushes it to disk (`fsync`) and renames it over the destination. A rename
/// within one file system is atomic, so a crash or an error at any moment leaves either
/// the previous file or the complete new one, never a truncated checkpoint.
///
///     AtomicFileWriter out("runs/mlp/checkpoint.safetensors");
///     out.write(header.data(), header.size());
///     out.write(weights, nbytes);
///     out.commit();  // without it, the destructor deletes the temporary file
///
/// Errors (a missing directory, a full disk) throw `zoo::Error` naming the destination.
class AtomicFileWriter {
 public:
  /// Creates the temporary file next to `path`; nothing is visible at `path` yet.
  explicit AtomicFileWriter(std::filesystem::path path);
  /// Deletes the temporary file unless `commit()` succeeded.
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  /// Appends `size` bytes.
  void write(const void* data, std::size_t size);
  /// Appends a string's bytes.
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  /// Flushes the data to disk, renames the temporary file to the destination and
  /// flushes the directory entry too. After this the writer can take no more bytes.
  void commit();
  /// The destination.
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

/// Replaces the file at `path` with `bytes`, atomically (see `AtomicFileWriter`).
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace zoo::nn
