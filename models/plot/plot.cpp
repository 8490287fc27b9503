#include "models/plot/plot.h"

#include <filesystem>

#include "models/plot/gnuplot.h"
#include "models/plot/gnuplot_script.h"
#include "models/plot/run_metrics.h"
#include "nn/io/atomic_file.h"

namespace zoo::models::plot {

PlotResult plot_runs(const std::vector<std::string>& run_dirs, const std::string& out, const ChartOptions& options,
                     const std::string& made_with) {
  terminal_for(out, 1);  // a wrong ending is an error before any file is read
  std::vector<RunMetrics> runs;
  for (const std::string& dir : run_dirs) runs.push_back(read_run_metrics(dir));
  const Chart chart = make_chart(runs, options);
  PlotResult result{out, out + ".gp", ""};
  const std::filesystem::path folder = std::filesystem::path(out).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder);
  nn::write_file_atomically(result.script, gnuplot_script(chart, out, made_with));
  result.gnuplot_output = run_gnuplot(result.script);
  return result;
}

}  // namespace zoo::models::plot
