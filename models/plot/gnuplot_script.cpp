#include "models/plot/gnuplot_script.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "autograd/error.h"

namespace zoo::models::plot {
namespace {

namespace fs = std::filesystem;

/// Pixels: the width of the image, and the height of one panel.
constexpr int kWidth = 800, kPanelHeight = 450;

/// The Okabe–Ito colours, without yellow (too pale on white): one per run, in turn.
constexpr const char* kColours[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"};

/// A series of at most this many points is drawn with a mark at each point, so that a
/// curve through ten validations does not look like a measured continuum.
constexpr std::size_t kMarkedPoints = 40;

/// `text` as a gnuplot string in single quotes, where nothing is special but the quote
/// itself, written twice. Line breaks become spaces.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') out += "''";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out + "'";
}

/// `text` on one line, for a comment: a line break in a folder's name would otherwise end
/// the comment and make the rest of the name a gnuplot command.
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

/// A name for a data block: `$` and letters, digits and underscores only, each run of
/// other characters (a dash, the two bytes of an "η") made one underscore.
std::string block_name(const std::string& run, const std::string& metric, std::set<std::string>& taken) {
  std::string name = "$";
  for (const char c : run + "_" + metric) {
    if (std::isalnum(static_cast<unsigned char>(c))) name += c;
    else if (name.back() != '_') name += '_';
  }
  if (std::isdigit(static_cast<unsigned char>(name[1]))) name.insert(1, "run_");
  std::string unique = name;
  for (int n = 2; taken.contains(unique); ++n) unique = fmt::format("{}_{}", name, n);
  taken.insert(unique);
  return unique;
}

/// gnuplot's dash type for a metric's split: train dashed, test dotted, the rest solid.
int dash_type(const std::string& metric) {
  const std::string split = split_of(metric);
  return split == "train" ? 2 : split == "test" ? 3 : 1;
}

/// True if `text` is a finite number, all of it ("300", "-1.5e-3").
bool is_number(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size() && std::isfinite(value);
}

/// A range "LO:HI" as gnuplot's "[LO:HI]", a missing end as "*" (automatic). Anything but
/// two numbers or blanks around one colon is a `zoo::Error` naming `flag`.
std::string range(const std::string& text, const char* flag) {
  const std::size_t colon = text.find(':');
  const std::string lo = text.substr(0, colon), hi = colon == std::string::npos ? "" : text.substr(colon + 1);
  ZOO_CHECK(colon != std::string::npos && (lo.empty() || is_number(lo)) && (hi.empty() || is_number(hi)),
            "zoo plot: {} takes LO:HI (numbers, either may be left out, as in 300:), got '{}'", flag, text);
  return fmt::format("[{}:{}]", lo.empty() ? "*" : lo, hi.empty() ? "*" : hi);
}

}  // namespace

std::string terminal_for(const std::string& out, std::size_t panels) {
  const std::string extension = fs::path(out).extension().string();
  const int height = static_cast<int>(panels) * kPanelHeight + (panels > 1 ? 40 : 0);
  // noenhanced: names such as valid_loss are shown as written, not with a subscript.
  if (extension == ".png")
    return fmt::format("set terminal pngcairo size {},{} font 'sans,11' background '#ffffff' noenhanced", kWidth,
                       height);
  if (extension == ".svg")
    return fmt::format("set terminal svg size {},{} dynamic font 'sans,12' background '#ffffff' noenhanced", kWidth,
                       height);
  throw Error(fmt::format("zoo plot: --out must end in .png or .svg (it chooses the format), got '{}'", out));
}

std::string gnuplot_script(const Chart& chart, const std::string& out, const std::string& made_with) {
  const std::string terminal = terminal_for(out, chart.panels.size());
  const std::string name = fs::path(out).filename().string();
  std::string s;
  s += fmt::format("# {}.gp: drawn by `zoo plot` from the runs' metrics.jsonl. The data are in the blocks\n",
                   one_line(name));
  s += "# below, one per run and metric; change anything and redraw, in this folder, with\n";
  s += fmt::format("#   gnuplot {}.gp\n", one_line(name));
  if (!made_with.empty()) s += fmt::format("# Made with: {}\n", one_line(made_with));

  // The data, and the plot command's clause for each series, panel by panel.
  std::set<std::string> taken;
  std::vector<std::vector<std::string>> clauses(chart.panels.size());
  for (std::size_t p = 0; p < chart.panels.size(); ++p)
    for (const Series& series : chart.panels[p].series) {
      const std::string block = block_name(chart.runs[series.run], series.metric, taken);
      s += fmt::format("\n# {}\n{} << EOD\n", one_line(fmt::format("{}: {} by {}", chart.runs[series.run], series.metric,
                                                                chart.x_key)),
                       block);
      for (const auto& [x, y] : series.points) s += fmt::format("{} {}\n", x, y);
      s += "EOD\n";
      const char* colour = kColours[series.run % std::size(kColours)];
      const std::string marks = series.points.size() <= kMarkedPoints ? "linespoints pt 7 ps 0.6" : "lines";
      clauses[p].push_back(fmt::format("{} using 1:2 with {} lw 2 lc rgb '{}' dt {} title {}", block, marks, colour,
                                       dash_type(series.metric), quoted(series.title)));
    }

  const ChartOptions& o = chart.options;
  s += "\n" + terminal + "\n";
  s += fmt::format("set output {}\n", quoted(name));
  // The legend below the plot, where it never hides a curve.
  s += "set grid\nset key below width 2\n";
  s += fmt::format("set xlabel {}\n", quoted(o.x_label.empty() ? chart.x_key : o.x_label));
  if (!o.x_range.empty()) s += fmt::format("set xrange {}\n", range(o.x_range, "--x-range"));
  if (!o.y_range.empty()) s += fmt::format("set yrange {}\n", range(o.y_range, "--y-range"));
  if (o.log_x) s += "set logscale x\n";
  if (o.log_y) s += "set logscale y\n";
  const bool several = chart.panels.size() > 1;
  if (several)
    s += fmt::format("set multiplot layout {},1{}\n", chart.panels.size(),
                     o.title.empty() ? "" : " title " + quoted(o.title) + " font ',14'");
  for (std::size_t p = 0; p < chart.panels.size(); ++p) {
    const Panel& panel = chart.panels[p];
    s += "\n";
    s += fmt::format("set title {}\n", quoted(several || o.title.empty() ? panel.name : o.title));
    s += fmt::format("set ylabel {}\n", quoted(o.y_label.empty() ? panel.name : o.y_label));
    s += "plot ";
    for (std::size_t i = 0; i < clauses[p].size(); ++i) s += (i ? ", \\\n     " : "") + clauses[p][i];
    s += "\n";
  }
  if (several) s += "unset multiplot\n";
  return s;
}

}  // namespace zoo::models::plot
