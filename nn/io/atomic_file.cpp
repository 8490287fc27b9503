#include "nn/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

#include "autograd/error.h"

namespace zoo::nn {
namespace {

/// The text of the current `errno`, e.g. "No space left on device".
std::string last_error() { return std::system_category().message(errno); }

/// A name for the temporary file: hidden, in the same directory as `path` (a rename is
/// only atomic within one file system), and unique per process and per writer.
std::filesystem::path temporary_path_for(const std::filesystem::path& path) {
  static std::atomic<unsigned> counter{0};
  const std::string name = fmt::format(".{}.tmp-{}-{}", path.filename().string(),
                                       static_cast<long>(::getpid()), counter++);
  return path.parent_path() / name;
}

/// fsync on a directory makes a rename inside it durable.
void sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // some file systems do not allow it; the data itself is synced
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::filesystem::path path)
    : path_(std::move(path)), temp_path_(temporary_path_for(path_)) {
  ZOO_CHECK(!path_.filename().empty(), "{}: cannot write a file: the path names a directory",
            path_.string());
  // 0666 lets the umask decide the permissions, as for any newly created file.
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  ZOO_CHECK(fd_ >= 0, "{}: cannot create the temporary file {}: {}", path_.string(),
            temp_path_.string(), last_error());
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, std::size_t size) {
  ZOO_CHECK(fd_ >= 0, "{}: write after commit", path_.string());
  const char* p = static_cast<const char*>(data);
  while (size > 0) {  // write() may write less than asked, or be interrupted
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    ZOO_CHECK(n > 0, "{}: cannot write: {}", path_.string(), last_error());
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  ZOO_CHECK(fd_ >= 0, "{}: commit called twice", path_.string());
  ZOO_CHECK(::fsync(fd_) == 0, "{}: cannot flush to disk: {}", path_.string(), last_error());
  const int closed = ::close(fd_);
  fd_ = -1;
  ZOO_CHECK(closed == 0, "{}: cannot close: {}", path_.string(), last_error());
  ZOO_CHECK(::rename(temp_path_.c_str(), path_.c_str()) == 0, "{}: cannot rename {} to it: {}",
            path_.string(), temp_path_.string(), last_error());
  committed_ = true;
  sync_directory(path_.parent_path());
}

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  AtomicFileWriter out(path);
  out.write(bytes);
  out.commit();
}

}  // namespace zoo::nn
