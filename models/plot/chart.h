#pragma once
/// @file chart.h
/// @brief What `zoo plot` draws, decided before anything is drawn: the x axis, the
/// metrics, one panel per quantity, one line per (run, metric).
///
/// A quantity is a metric without its split: `train_loss`, `valid_loss` and `test_loss`
/// all measure "loss", so they share a panel and can be compared; `aux_loss` or
/// `valid_perplexity` get panels of their own. In a panel, the colour says which run, the
/// dashes which split (see gnuplot_script.h).

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "models/plot/run_metrics.h"

namespace zoo::models::plot {

/// What to draw, as `zoo plot`'s flags say it.
struct ChartOptions {
  std::string x;                     ///< the x axis' key; empty: `step` if every run logs it, else `epoch`
  std::vector<std::string> metrics;  ///< the keys to draw; empty: `loss` and every key ending in `_loss`
  std::string title;                 ///< the chart's title; empty: none over the panels' own
  std::string x_label;               ///< empty: the x key
  std::string y_label;               ///< empty: each panel's name
  std::string x_range;               ///< "LO:HI" (either may be left out: "300:"); empty: all the data
  std::string y_range;               ///< the same for the y axes
  bool log_x = false;                ///< logarithmic x axis
  bool log_y = false;                ///< logarithmic y axes
};

/// One line: one metric of one run, as (x, y) points in the order the run logged them.
struct Series {
  std::size_t run = 0;  ///< index of the run (its colour)
  std::string metric;   ///< the key drawn, e.g. `valid_loss`
  std::string title;    ///< its entry in the legend
  std::vector<std::pair<double, double>> points;  ///< records without the x key or the metric are left out
};

/// One panel: the metrics of one quantity.
struct Panel {
  std::string name;            ///< its title and y label: the quantity ("loss" for `train_loss` and
                               ///< `valid_loss`), or the metric if it is the only one (`valid_loss`)
  std::vector<Series> series;  ///< by run, then by metric
};

/// Everything a chart shows, with no drawing in it yet.
struct Chart {
  std::vector<std::string> runs;  ///< the runs' names in legends, in the order given
  std::string x_key;              ///< the key on the x axis
  std::vector<Panel> panels;      ///< top to bottom
  ChartOptions options;           ///< the title, labels and scales asked for
};

/// The split a metric belongs to: "train", "valid" (also for `val_`) or "test" from its
/// prefix, or "" (`aux_loss`, `lr`).
std::string split_of(const std::string& metric);

/// The quantity a metric measures: its name without the split's prefix
/// (`valid_perplexity` -> "perplexity", `aux_loss` -> "aux_loss").
std::string quantity_of(const std::string& metric);

/// Decides the chart for `runs`. A `zoo::Error` if the x key or a metric is logged by no
/// run (listing the keys that are), or if a chosen key holds something other than a number.
Chart make_chart(const std::vector<RunMetrics>& runs, const ChartOptions& options);

}  // namespace zoo::models::plot
