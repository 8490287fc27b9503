#include "models/plot/gnuplot.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "autograd/error.h"

namespace zoo::models::plot {

namespace fs = std::filesystem;

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream folders(path ? path : "/usr/bin:/bin");
  for (std::string folder; std::getline(folders, folder, ':');) {
    const fs::path candidate = fs::path(folder.empty() ? "." : folder) / name;
    std::error_code error;  // a folder on $PATH that cannot be read is skipped, not an error
    if (access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate, error)) return candidate.string();
  }
  return "";
}

std::string run_gnuplot(const std::string& script) {
  const std::string gnuplot = find_on_path("gnuplot");
  ZOO_CHECK(!gnuplot.empty(), "zoo plot needs gnuplot: apt install gnuplot-nox (the script is written: {})", script);
  const fs::path absolute = fs::absolute(script);
  const std::string folder = absolute.parent_path().string(), file = absolute.filename().string();

  // gnuplot's output (warnings and errors; it draws into the file its script names) comes
  // back through a pipe. Everything the child needs is prepared before fork(): after it,
  // in a process that may have OpenMP threads, the child may only make system calls.
  int pipe_ends[2];
  ZOO_CHECK(pipe(pipe_ends) == 0, "zoo plot: pipe() failed: {}", std::strerror(errno));
  const char* argv[] = {gnuplot.c_str(), file.c_str(), nullptr};
  const pid_t child = fork();
  if (child < 0) {
    close(pipe_ends[0]);
    close(pipe_ends[1]);
    throw Error(fmt::format("zoo plot: fork() failed: {}", std::strerror(errno)));
  }
  if (child == 0) {
    dup2(pipe_ends[1], STDOUT_FILENO);
    dup2(pipe_ends[1], STDERR_FILENO);
    close(pipe_ends[0]);
    close(pipe_ends[1]);
    // In the script's folder, so that `set output 'curves.svg'` writes next to it.
    if (chdir(folder.c_str()) != 0) _exit(126);
    execv(argv[0], const_cast<char* const*>(argv));
    _exit(127);  // as a shell does when it cannot run a program
  }
  close(pipe_ends[1]);
  std::string printed;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_ends[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    printed.append(buffer, static_cast<std::size_t>(n));
  }
  close(pipe_ends[0]);
  int status = 0;
  pid_t waited;
  do waited = waitpid(child, &status, 0);
  while (waited < 0 && errno == EINTR);
  ZOO_CHECK(waited == child, "zoo plot: waitpid() failed: {}", std::strerror(errno));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return printed;
  if (WIFEXITED(status) && WEXITSTATUS(status) >= 126)
    throw Error(fmt::format("zoo plot: could not run {} in '{}' (exit status {})", gnuplot, folder,
                            WEXITSTATUS(status)));
  throw Error(fmt::format("zoo plot: gnuplot failed on {} ({} {}):\n{}", script,
                          WIFEXITED(status) ? "exit status" : "signal",
                          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), printed));
}

}  // namespace zoo::models::plot
