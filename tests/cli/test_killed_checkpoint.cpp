// A training run killed in the middle of writing a checkpoint loses nothing.
//
// The test starts the real `zoo train mlp` as a child process and watches its output
// folder with inotify. When the child creates the temporary file of a checkpoint write
// (AtomicFileWriter's ".checkpoint.safetensors.tmp-PID-N"), the test stops it with
// SIGSTOP, confirms that the temporary file is still there, so the write has begun and
// its rename has not happened, and kills it with SIGKILL: a crash at that instant, the
// way a power cut or the OOM killer would do it. Then:
//   - checkpoint.safetensors is still the previous, complete checkpoint: it loads, and
//     its step is the one before;
//   - `--resume` continues from it and ends with weights bit-identical to those of a
//     run that was never interrupted.
//
// Why SIGSTOP first: inotify reports the creation after the fact, and a small write can
// finish and be renamed before a SIGKILL lands. Stopping the child freezes it, so the
// test can see which side of the rename it is on; if the write had already finished, it
// lets the child go on and waits for the next checkpoint.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "child_process.h"
#include "models/model_test_util.h"
#include "nn/io/checkpoint.h"

namespace fs = std::filesystem;
using zoo::test::spawn;
using zoo::test::wait_for;

namespace {

/// `zoo train mlp` on the 200-image MNIST fixture: 2 epochs of 13 batches of 16 with a
/// checkpoint after every step, so there are many checkpoint writes to land in. One
/// thread, so that two runs with the same seed compute the same numbers.
std::vector<std::string> train_command(const fs::path& out) {
  return {ZOO_BINARY, "train", "mlp", "--data", std::string(ZOO_TEST_DATA_DIR) + "/mnist-mini",
          "--epochs", "2", "--batch-size", "16", "--save-every", "1", "--threads", "1",
          "--out", out.string()};
}

/// True if `name` is a temporary file of a checkpoint write in progress.
bool is_checkpoint_temp(const std::string& name) {
  return name.starts_with(".checkpoint.safetensors.tmp-");
}

/// The checkpoint temporary files present in `dir`.
std::vector<fs::path> checkpoint_temps(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(dir))
    if (is_checkpoint_temp(entry.path().filename().string())) found.push_back(entry.path());
  return found;
}

/// What the kill left behind.
struct Kill {
  std::int64_t checkpoint_writes_seen = 0;  // temporary files created, the killed one included
  std::uintmax_t temp_bytes = 0;            // how much of the killed write had reached its file
};

/// Runs `command` (whose output folder is `out`, already created) and kills it with
/// SIGKILL while it writes its `kill_at`-th checkpoint or, if that write finished before
/// the child could be stopped, a later one. Returns nullopt if the run ended first.
std::optional<Kill> kill_during_checkpoint_write(const std::vector<std::string>& command,
                                                 const fs::path& out, int kill_at) {
  const int watch_fd = inotify_init1(IN_CLOEXEC);
  REQUIRE(watch_fd >= 0);
  REQUIRE(inotify_add_watch(watch_fd, out.c_str(), IN_CREATE) >= 0);
  const pid_t child = spawn(command);

  Kill kill_info;
  std::optional<Kill> result;
  alignas(inotify_event) std::array<char, 4096> buffer{};
  while (!result) {
    pollfd p{watch_fd, POLLIN, 0};
    if (poll(&p, 1, 100) == 0) {  // nothing new: has the run ended?
      int status = 0;
      if (waitpid(child, &status, WNOHANG) == child) break;
      continue;
    }
    const ssize_t n = read(watch_fd, buffer.data(), buffer.size());
    REQUIRE(n > 0);
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + at);
      if (event->len > 0 && is_checkpoint_temp(event->name)) ++kill_info.checkpoint_writes_seen;
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
    if (kill_info.checkpoint_writes_seen < kill_at) continue;

    // Freeze the child, then look: a temporary file still there means the write has
    // begun and its rename has not happened.
    REQUIRE(kill(child, SIGSTOP) == 0);
    int status = 0;
    REQUIRE(waitpid(child, &status, WUNTRACED) == child);
    if (!WIFSTOPPED(status)) break;  // it ended on its own in the meantime
    const std::vector<fs::path> temps = checkpoint_temps(out);
    if (temps.empty()) {  // too late for this one: let it run on to the next write
      REQUIRE(kill(child, SIGCONT) == 0);
      continue;
    }
    kill_info.temp_bytes = fs::file_size(temps.front());
    REQUIRE(kill(child, SIGKILL) == 0);
    status = wait_for(child);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
    result = kill_info;
  }
  close(watch_fd);
  return result;
}

}  // namespace

TEST_CASE("a run killed while writing a checkpoint keeps the last one, and --resume continues exactly",
          "[cli][checkpoint]") {
  const fs::path root = fs::temp_directory_path() / "zoo-test-killed-checkpoint";
  fs::remove_all(root);
  const fs::path full_out = root / "uninterrupted";
  const fs::path killed_out = root / "killed";
  fs::create_directories(killed_out);

  // The reference: the same run, never interrupted.
  const int full_status = wait_for(spawn(train_command(full_out)));
  REQUIRE(WIFEXITED(full_status));
  REQUIRE(WEXITSTATUS(full_status) == 0);

  // The 5th checkpoint write (after step 5) is the one to kill: steps 1 to 4 are saved.
  const std::optional<Kill> killed = kill_during_checkpoint_write(train_command(killed_out), killed_out, 5);
  REQUIRE(killed.has_value());
  INFO("killed during checkpoint write " << killed->checkpoint_writes_seen << ", with "
                                          << killed->temp_bytes << " bytes written");
  REQUIRE_FALSE(fs::exists(killed_out / "model.safetensors"));  // the run did not finish

  // The last good checkpoint is intact: it loads (every size and offset checked) and it
  // is the one written just before the killed write.
  const zoo::nn::Checkpoint last = zoo::nn::load_checkpoint(killed_out / "checkpoint.safetensors");
  REQUIRE(last.step == killed->checkpoint_writes_seen - 1);
  // The killed write's temporary file is left behind, unfinished or unrenamed: only a
  // completed rename makes a checkpoint, so nothing reads it.
  REQUIRE(checkpoint_temps(killed_out).size() == 1);

  // --resume continues from it and ends where the uninterrupted run ended, bit for bit.
  std::vector<std::string> resume = train_command(killed_out);
  resume.push_back("--resume");
  const int resumed_status = wait_for(spawn(resume));
  REQUIRE(WIFEXITED(resumed_status));
  REQUIRE(WEXITSTATUS(resumed_status) == 0);
  zoo::test::require_same_weights(full_out / "model.safetensors", killed_out / "model.safetensors");
  fs::remove_all(root);
}
