#include "models/plot/chart.h"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/ranges.h>

#include "autograd/error.h"

namespace zoo::models::plot {
namespace {

/// The prefixes that name a split, and the split each names.
const std::vector<std::pair<std::string, std::string>>& split_prefixes() {
  static const std::vector<std::pair<std::string, std::string>> prefixes = {
      {"train_", "train"}, {"valid_", "valid"}, {"val_", "valid"}, {"test_", "test"}};
  return prefixes;
}

bool logs(const RunMetrics& run, const std::string& key) {
  return std::any_of(run.records.begin(), run.records.end(),
                     [&](const nlohmann::json& record) { return record.contains(key); });
}

bool any_run_logs(const std::vector<RunMetrics>& runs, const std::string& key) {
  return std::any_of(runs.begin(), runs.end(), [&](const RunMetrics& run) { return logs(run, key); });
}

/// The keys the runs log, for error messages that say what could have been asked for.
std::string known_keys(const std::vector<RunMetrics>& runs) {
  return fmt::format("{}", fmt::join(numeric_keys(runs), ", "));
}

/// `x` as given, or `step` if every run logs it, else `epoch` if every run does.
std::string choose_x(const std::vector<RunMetrics>& runs, const std::string& asked) {
  if (!asked.empty()) {
    ZOO_CHECK(any_run_logs(runs, asked), "zoo plot: no run logs '{}' for the x axis; the keys that hold numbers: {}",
              asked, known_keys(runs));
    return asked;
  }
  for (const char* key : {"step", "epoch"})
    if (std::all_of(runs.begin(), runs.end(), [&](const RunMetrics& run) { return logs(run, key); })) return key;
  throw Error(fmt::format("zoo plot: the runs do not all log 'step' or 'epoch'; choose the x axis with --x KEY "
                          "(the keys that hold numbers: {})",
                          known_keys(runs)));
}

/// The metrics as given, or `loss` and every key ending in `_loss` that holds numbers.
std::vector<std::string> choose_metrics(const std::vector<RunMetrics>& runs, const std::vector<std::string>& asked) {
  if (!asked.empty()) {
    for (const std::string& key : asked)
      ZOO_CHECK(any_run_logs(runs, key), "zoo plot: no run logs '{}'; the keys that hold numbers: {}", key,
                known_keys(runs));
    return asked;
  }
  std::vector<std::string> losses;
  for (const std::string& key : numeric_keys(runs))
    if (key == "loss" || key.ends_with("_loss")) losses.push_back(key);
  ZOO_CHECK(!losses.empty(),
            "zoo plot: no run logs 'loss' or a key ending in '_loss'; choose what to draw with --metric KEY "
            "(the keys that hold numbers: {})",
            known_keys(runs));
  // The model's loss first (train_loss, valid_loss, test_loss: the panel "loss"), then
  // the others (aux_loss) by name.
  std::stable_sort(losses.begin(), losses.end(), [](const std::string& a, const std::string& b) {
    return (quantity_of(a) == "loss") > (quantity_of(b) == "loss");
  });
  return losses;
}

/// The value of `key` in a record as a number; nullopt if the record lacks it or it is
/// null (JSON has no NaN: a NaN loss is written as null, and leaves a gap).
std::optional<double> number_at(const nlohmann::json& record, const std::string& key, const RunMetrics& run,
                                std::size_t index) {
  const auto it = record.find(key);
  if (it == record.end() || it->is_null()) return std::nullopt;
  ZOO_CHECK(it->is_number(), "zoo plot: '{}' in record {} of '{}/metrics.jsonl' is not a number: {}", key, index + 1,
            run.dir, it->dump().substr(0, 80));
  return it->get<double>();
}

/// The (x, y) points of one metric of one run.
std::vector<std::pair<double, double>> points_of(const RunMetrics& run, const std::string& x_key,
                                                 const std::string& metric) {
  std::vector<std::pair<double, double>> points;
  for (std::size_t i = 0; i < run.records.size(); ++i) {
    const auto y = number_at(run.records[i], metric, run, i);
    if (!y) continue;
    const auto x = number_at(run.records[i], x_key, run, i);
    if (x) points.emplace_back(*x, *y);
  }
  return points;
}

/// The runs' names in legends: their folders' names, or the paths as given where two
/// folders share a name (runs/a/moe and runs/b/moe).
std::vector<std::string> legend_names(const std::vector<RunMetrics>& runs) {
  std::map<std::string, int> count;
  for (const RunMetrics& run : runs) ++count[run.label];
  std::vector<std::string> names;
  for (const RunMetrics& run : runs) names.push_back(count[run.label] > 1 ? run.dir : run.label);
  return names;
}

}  // namespace

std::string split_of(const std::string& metric) {
  for (const auto& [prefix, split] : split_prefixes())
    if (metric.starts_with(prefix) && metric.size() > prefix.size()) return split;
  return "";
}

std::string quantity_of(const std::string& metric) {
  for (const auto& [prefix, split] : split_prefixes())
    if (metric.starts_with(prefix) && metric.size() > prefix.size()) return metric.substr(prefix.size());
  return metric;
}

Chart make_chart(const std::vector<RunMetrics>& runs, const ChartOptions& options) {
  ZOO_CHECK(!runs.empty(), "zoo plot: give at least one run folder");
  Chart chart;
  chart.options = options;
  chart.runs = legend_names(runs);
  chart.x_key = choose_x(runs, options.x);
  const std::vector<std::string> metrics = choose_metrics(runs, options.metrics);

  // Panels in the order their first metric comes; each panel's metrics in the order given.
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  for (const std::string& metric : metrics) {
    const std::string quantity = quantity_of(metric);
    auto group = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == quantity; });
    if (group == groups.end()) group = groups.insert(groups.end(), {quantity, {}});
    if (std::find(group->second.begin(), group->second.end(), metric) == group->second.end())
      group->second.push_back(metric);
  }
  for (const auto& [quantity, panel_metrics] : groups) {
    Panel panel{panel_metrics.size() == 1 ? panel_metrics[0] : quantity, {}};
    for (std::size_t r = 0; r < runs.size(); ++r)
      for (const std::string& metric : panel_metrics) {
        std::vector<std::pair<double, double>> points = points_of(runs[r], chart.x_key, metric);
        if (points.empty()) continue;  // this run does not log it (a dense model has no aux_loss)
        // The legend says what differs: the run, the metric, or both.
        std::string title = chart.runs[r];
        if (runs.size() == 1) title = metric;
        else if (panel_metrics.size() > 1) title += " " + metric;
        panel.series.push_back({r, metric, title, std::move(points)});
      }
    ZOO_CHECK(!panel.series.empty(), "zoo plot: no record holds both '{}' and the x key '{}'",
              fmt::join(panel_metrics, "', '"), chart.x_key);
    chart.panels.push_back(std::move(panel));
  }
  return chart;
}

}  // namespace zoo::models::plot
