#pragma once
/// @file gnuplot.h
/// @brief Running gnuplot on a script, as a child process (no shell in between).

#include <string>

namespace zoo::models::plot {

/// The path of the program `name` on `$PATH` (the first executable file of that name),
/// or "" if there is none.
std::string find_on_path(const std::string& name);

/// Runs `gnuplot SCRIPT` in the script's folder and returns what it printed (warnings,
/// usually nothing). A `zoo::Error` if gnuplot is not installed ("zoo plot needs
/// gnuplot: apt install gnuplot-nox"), cannot be started, or ends with an error; that
/// message includes what gnuplot printed.
std::string run_gnuplot(const std::string& script);

}  // namespace zoo::models::plot
