#pragma once
/// @file fuzz_input.h
/// @brief What every fuzz target shares: the file an input is written to (zoo's readers
/// take paths), and the rule that a reader either accepts an input or rejects it with a
/// `zoo::Error` whose message names the file.
///
/// libFuzzer calls a target's `LLVMFuzzerTestOneInput(data, size)` with one input after
/// another, in one process. A target writes the bytes to its `InputFile` and hands the
/// path to the reader inside `accept_or_reject`. Anything else than a clean return or a
/// `zoo::Error` naming the file (a sanitizer report, another exception type, a message
/// that does not say which file is wrong) stops the run, and libFuzzer saves the input
/// as `crash-<sha1>`.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>

#include "autograd/error.h"
#include "autograd/parallel.h"

namespace zoo::fuzz {

/// The temporary file that holds the current input: `zoo-fuzz-TARGET-PID`, so two
/// targets (or two runs) never share one, in /dev/shm where there is one (memory, not
/// a disk: writing every input, and the writers' fsync, cost next to nothing there),
/// else in the system's temporary folder. It is deleted when the process ends normally.
class InputFile {
 public:
  /// The file for target `target` ("idx", "safetensors", ...). Made once per process,
  /// it also sets zoo to one thread: the inputs are a few KB, and zoo's OpenMP (clang's
  /// libomp) and OpenBLAS's (libgomp) then never start a team.
  explicit InputFile(const std::string& target)
      : path_(folder() / ("zoo-fuzz-" + target + "-" + std::to_string(::getpid()))),
        name_(path_.string()) {
    zoo::set_num_threads(1);
  }
  ~InputFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  /// Replaces the file's contents with the `size` bytes at `data`.
  void write(const std::uint8_t* data, std::size_t size) const {
    std::FILE* out = std::fopen(name_.c_str(), "wb");
    if (out == nullptr || std::fwrite(data, 1, size, out) != size || std::fclose(out) != 0) {
      std::perror(name_.c_str());  // the machine's problem, not the reader's: stop here
      std::abort();
    }
  }

  /// The path, as the readers take it.
  const std::filesystem::path& path() const { return path_; }
  /// The path as text, as error messages should show it.
  const std::string& name() const { return name_; }

 private:
  static std::filesystem::path folder() {
    std::error_code error;
    return std::filesystem::is_directory("/dev/shm", error) ? std::filesystem::path("/dev/shm")
                                                            : std::filesystem::temp_directory_path();
  }

  std::filesystem::path path_;
  std::string name_;
};

/// Runs `read()`, which reads the file `file` and uses what it read. Returns true if it
/// returned, false if it threw a `zoo::Error` whose message contains `file` (a clean
/// rejection). A `zoo::Error` that does not name the file is a bug too: the message is
/// printed and the process aborts, so libFuzzer keeps the input. Other exceptions are
/// left to escape, and libFuzzer reports them as crashes ("uncaught exception").
template <class Read>
bool accept_or_reject(const std::string& file, Read&& read) {
  try {
    read();
    return true;
  } catch (const zoo::Error& e) {
    const std::string message = e.what();
    if (message.find(file) != std::string::npos) return false;
    std::fprintf(stderr, "zoo fuzz: the rejection does not name the file %s:\n  %s\n", file.c_str(),
                 message.c_str());
    std::abort();
  }
}

/// Stops the run with `what` when `ok` is false: for the properties a target checks on
/// what a reader accepted (a round trip, a size), which are bugs when they fail.
inline void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "zoo fuzz: %s\n", what);
  std::abort();
}

}  // namespace zoo::fuzz
