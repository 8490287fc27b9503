/// @file plot_commands.cpp
/// @brief `zoo plot RUN_DIR... --out FILE`: the curves of runs' metrics.jsonl on one
/// chart, drawn by gnuplot (models/plot/plot.h).

#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/cli/commands.h"
#include "models/plot/plot.h"

namespace zoo::cli {
namespace {

struct PlotCommandOptions {
  std::vector<std::string> runs;
  std::string out;
  models::plot::ChartOptions chart;
};

/// `word` as a shell would need it: as it is if it holds only safe characters, else in
/// single quotes (a quote inside written as '\'').
std::string shell_word(const std::string& word) {
  const bool safe = !word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                            "0123456789_./=:,+-@%") == std::string::npos;
  if (safe) return word;
  std::string quoted = "'";
  for (const char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

/// The command that draws this chart again, for the comment at the top of the script.
std::string command_line(const PlotCommandOptions& o) {
  std::string line = "zoo plot";
  for (const std::string& run : o.runs) line += " " + shell_word(run);
  const models::plot::ChartOptions& c = o.chart;
  if (!c.x.empty()) line += " --x " + shell_word(c.x);
  for (const std::string& metric : c.metrics) line += " --metric " + shell_word(metric);
  if (!c.title.empty()) line += " --title " + shell_word(c.title);
  if (!c.x_label.empty()) line += " --xlabel " + shell_word(c.x_label);
  if (!c.y_label.empty()) line += " --ylabel " + shell_word(c.y_label);
  if (!c.x_range.empty()) line += " --x-range " + shell_word(c.x_range);
  if (!c.y_range.empty()) line += " --y-range " + shell_word(c.y_range);
  if (c.log_x) line += " --log-x";
  if (c.log_y) line += " --log-y";
  return line + " --out " + shell_word(o.out);
}

void run(const PlotCommandOptions& o) {
  const models::plot::PlotResult r = models::plot::plot_runs(o.runs, o.out, o.chart, command_line(o));
  if (!r.gnuplot_output.empty()) fmt::print(stderr, "{}", r.gnuplot_output);
  fmt::print("{}\n", nlohmann::json{{"command", "plot"}, {"image", r.image}, {"script", r.script}}.dump());
}

}  // namespace

void add_plot_commands(CLI::App& app) {
  auto o = std::make_shared<PlotCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "plot",
      "Draw the training and validation curves of runs (their metrics.jsonl) on one chart, with gnuplot. "
      "Writes the image and, next to it, the gnuplot script that drew it (FILE.gp, data inline): edit it and "
      "run `gnuplot FILE.gp` in its folder to redraw");
  cmd->add_option("runs", o->runs, "Run folders, each holding a metrics.jsonl (written by zoo train --out DIR)")
      ->required();
  cmd->add_option("--out", o->out, "The image: FILE.png (pngcairo) or FILE.svg")->required();
  cmd->add_option("--x", o->chart.x, "The key on the x axis (default: step if every run logs it, else epoch)");
  cmd->add_option("--metric", o->chart.metrics,
                  "A key to draw; repeat for several (default: loss and every key ending in _loss). Keys of one "
                  "quantity (train_loss, valid_loss) share a panel: train dashed, valid solid, test dotted")
      ->allow_extra_args(false);  // one key per --metric: `--metric valid_loss runs/a` leaves runs/a a run
  cmd->add_option("--title", o->chart.title, "The chart's title");
  cmd->add_option("--xlabel", o->chart.x_label, "The x axis' label (default: the x key)");
  cmd->add_option("--ylabel", o->chart.y_label, "The y axes' label (default: each panel's quantity, or its metric if alone)");
  cmd->add_option("--x-range", o->chart.x_range, "LO:HI, either may be left out (300: starts at 300)");
  cmd->add_option("--y-range", o->chart.y_range, "LO:HI for the y axes, to zoom in on the end of a run");
  cmd->add_flag("--log-x", o->chart.log_x, "Logarithmic x axis");
  cmd->add_flag("--log-y", o->chart.log_y, "Logarithmic y axes");
  cmd->callback([o] { run(*o); });
}

}  // namespace zoo::cli
