#pragma once
/// @file child_process.h
/// @brief For tests that run programs (the `zoo` command, `mpirun`) as child processes.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

extern char** environ;

namespace zoo::test {

/// Starts `args` (args[0] is the program's path) and returns its pid. With `output`,
/// its standard output and error go to that file instead of the test's.
inline pid_t spawn(const std::vector<std::string>& args, const std::string& output = "") {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!output.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  }
  pid_t pid = 0;
  const int err = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  INFO("posix_spawn " << args[0] << ": " << strerror(err));
  REQUIRE(err == 0);
  return pid;
}

/// Waits for `pid` to end and returns its wait status.
inline int wait_for(pid_t pid) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return status;
}

/// Runs `args` to the end; its exit code, or -1 if a signal ended it.
inline int run(const std::vector<std::string>& args, const std::string& output = "") {
  const int status = wait_for(spawn(args, output));
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace zoo::test
