#pragma once
/// @file plot.h
/// @brief `zoo plot`: training and validation curves of several runs on one chart, drawn
/// by gnuplot from each run's `metrics.jsonl`.
///
/// Three steps, each in its own file: read the runs (run_metrics.h), decide what to draw
/// (chart.h), write it as a gnuplot script with the data inline (gnuplot_script.h), and
/// run gnuplot on it (gnuplot.h). The script stays next to the image, so the picture
/// can be changed and redrawn without zoo.

#include <string>
#include <vector>

#include "models/plot/chart.h"

namespace zoo::models::plot {

/// What `plot_runs` wrote.
struct PlotResult {
  std::string image;   ///< the PNG or SVG file
  std::string script;  ///< the gnuplot script that drew it: `<image>.gp`
  std::string gnuplot_output;  ///< what gnuplot printed (warnings), usually empty
};

/// Reads `<dir>/metrics.jsonl` of each of `run_dirs`, writes the script `<out>.gp` and
/// runs gnuplot on it to draw `out` (`.png` or `.svg`). `made_with` is recorded in the
/// script as the command that made it.
PlotResult plot_runs(const std::vector<std::string>& run_dirs, const std::string& out, const ChartOptions& options,
                     const std::string& made_with = "");

}  // namespace zoo::models::plot
