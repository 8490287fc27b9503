// zoo plot: reading runs' metrics.jsonl, choosing what to draw, the gnuplot script (all
// without gnuplot), and one real drawing of a PNG and an SVG by gnuplot.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "models/plot/chart.h"
#include "models/plot/gnuplot.h"
#include "models/plot/gnuplot_script.h"
#include "models/plot/plot.h"
#include "models/plot/run_metrics.h"
#include "test_util.h"

using namespace zoo;
using namespace zoo::models::plot;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

/// A fresh folder under /tmp for one test.
fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("zoo-test-plot-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

/// Writes `lines` as `<dir>/metrics.jsonl` and returns dir as a string.
std::string run_with(const fs::path& dir, const std::string& lines) {
  fs::create_directories(dir);
  std::ofstream(dir / "metrics.jsonl") << lines;
  return dir.string();
}


/// Two runs shaped like the language models': train and valid loss by step, a list
/// that cannot be drawn, an auxiliary loss only the second logs, and a summary record
/// without a step.
std::vector<RunMetrics> two_runs(const fs::path& root) {
  const std::string dense = run_with(root / "dense",
                                     "{\"step\":100,\"train_loss\":7.0,\"valid_loss\":6.0,\"lr\":0.001}\n"
                                     "\n"
                                     "{\"step\":200,\"train_loss\":5.5,\"valid_loss\":5.25,\"lr\":0.0005}\n"
                                     "{\"final\":true,\"valid_loss\":5.2}\n");
  const std::string moe = run_with(root / "moe",
                                   "{\"step\":100,\"train_loss\":7.1,\"valid_loss\":6.1,\"aux_loss\":0.04,"
                                   "\"expert_load\":[0.5,0.5]}\n"
                                   "{\"step\":200,\"train_loss\":5.4,\"valid_loss\":null,\"aux_loss\":0.03}\n");
  return {read_run_metrics(dense), read_run_metrics(moe + "/")};
}

}  // namespace

TEST_CASE("plot: a run's metrics.jsonl is read record by record, named by its folder", "[plot]") {
  const fs::path root = fresh_dir("read");
  const std::vector<RunMetrics> runs = two_runs(root);
  REQUIRE(runs[0].label == "dense");
  REQUIRE(runs[0].records.size() == 3);  // the empty line is not a record
  REQUIRE(runs[1].label == "moe");       // "moe/" names the folder too
  REQUIRE(numeric_keys(runs) == std::vector<std::string>{"aux_loss", "lr", "step", "train_loss", "valid_loss"});

  REQUIRE_THROWS_WITH(read_run_metrics((root / "absent").string()), Contains("absent") && Contains("not a folder"));
  fs::create_directories(root / "empty");
  REQUIRE_THROWS_WITH(read_run_metrics((root / "empty").string()), Contains("has no metrics.jsonl"));
  run_with(root / "bad", "{\"step\":1}\n{\"step\":2\n");
  REQUIRE_THROWS_WITH(read_run_metrics((root / "bad").string()),
                      Contains("line 2 of") && Contains("bad/metrics.jsonl") && Contains("not a JSON object"));
  run_with(root / "array", "[1, 2]\n");
  REQUIRE_THROWS_WITH(read_run_metrics((root / "array").string()), Contains("line 1 of"));
}

TEST_CASE("plot: the chart draws every loss by step, one panel per quantity", "[plot]") {
  const std::vector<RunMetrics> runs = two_runs(fresh_dir("chart"));
  const Chart chart = make_chart(runs, {});
  REQUIRE(chart.x_key == "step");
  REQUIRE(chart.runs == std::vector<std::string>{"dense", "moe"});
  // train_loss and valid_loss share the panel "loss", first; aux_loss has its own.
  REQUIRE(chart.panels.size() == 2);
  REQUIRE(chart.panels[0].name == "loss");
  REQUIRE(chart.panels[1].name == "aux_loss");
  const std::vector<Series>& loss = chart.panels[0].series;
  REQUIRE(loss.size() == 4);
  REQUIRE(loss[0].title == "dense train_loss");
  REQUIRE(loss[1].title == "dense valid_loss");
  // The summary record has no step; the null loss leaves a gap.
  REQUIRE(loss[1].points == std::vector<std::pair<double, double>>{{100, 6.0}, {200, 5.25}});
  REQUIRE(loss[3].points == std::vector<std::pair<double, double>>{{100, 6.1}});
  // Only the run that logs aux_loss has a line in its panel, titled by the run alone.
  REQUIRE(chart.panels[1].series.size() == 1);
  REQUIRE(chart.panels[1].series[0].run == 1);
  REQUIRE(chart.panels[1].series[0].title == "moe");

  REQUIRE(split_of("train_loss") == "train");
  REQUIRE(split_of("val_accuracy") == "valid");
  REQUIRE(quantity_of("valid_perplexity") == "perplexity");
  REQUIRE(quantity_of("aux_loss") == "aux_loss");
}

TEST_CASE("plot: the x axis and the metrics can be chosen, and are checked", "[plot]") {
  const fs::path root = fresh_dir("choose");
  const std::vector<RunMetrics> runs = two_runs(root);
  const Chart lr = make_chart(runs, {.x = "lr", .metrics = {"valid_loss"}});
  REQUIRE(lr.panels.size() == 1);
  REQUIRE(lr.panels[0].name == "valid_loss");  // alone in its panel: named by itself, not "loss"
  REQUIRE(lr.panels[0].series.size() == 1);     // the second run logs no lr
  REQUIRE(lr.panels[0].series[0].points == std::vector<std::pair<double, double>>{{0.001, 6.0}, {0.0005, 5.25}});

  REQUIRE_THROWS_WITH(make_chart(runs, {.metrics = {"accuracy"}}),
                      Contains("no run logs 'accuracy'") && Contains("train_loss, valid_loss"));
  REQUIRE_THROWS_WITH(make_chart(runs, {.x = "epoch"}), Contains("no run logs 'epoch'") && Contains("step"));
  REQUIRE_THROWS_WITH(make_chart(runs, {.metrics = {"expert_load"}}),
                      Contains("'expert_load' in record 1 of") && Contains("is not a number"));

  // Without a step in every run the x axis is the epoch; with neither, say --x.
  const RunMetrics by_epoch = read_run_metrics(run_with(root / "vae", "{\"epoch\":1,\"test_elbo\":-120}\n"));
  REQUIRE(make_chart({by_epoch}, {.metrics = {"test_elbo"}}).x_key == "epoch");
  REQUIRE_THROWS_WITH(make_chart({runs[0], by_epoch}, {.metrics = {"valid_loss"}}), Contains("--x KEY"));
  REQUIRE_THROWS_WITH(make_chart({by_epoch}, {}), Contains("--metric KEY") && Contains("test_elbo"));

  // A single run: the legend names the metric.
  REQUIRE(make_chart({runs[0]}, {}).panels[0].series[0].title == "train_loss");
  // Two folders of one name are told apart by their paths.
  const RunMetrics other = read_run_metrics(run_with(root / "other" / "dense", "{\"step\":1,\"loss\":1}\n"));
  REQUIRE(make_chart({runs[0], other}, {}).runs == std::vector<std::string>{runs[0].dir, other.dir});
}

TEST_CASE("plot: the gnuplot script holds the data and chooses the terminal by the file's ending", "[plot]") {
  const std::vector<RunMetrics> runs = two_runs(fresh_dir("script"));
  const Chart chart = make_chart(runs, {.title = "dense vs 'moe'", .y_range = "4:", .log_y = true});
  const std::string script = gnuplot_script(chart, "/somewhere/curves.svg", "zoo plot a b --out curves.svg");
  INFO(script);
  REQUIRE_THAT(script, Contains("# Made with: zoo plot a b --out curves.svg"));
  REQUIRE_THAT(script, Contains("$dense_valid_loss << EOD\n100 6\n200 5.25\nEOD\n"));
  REQUIRE_THAT(script, Contains("$moe_aux_loss << EOD\n100 0.04\n200 0.03\nEOD\n"));
  REQUIRE_THAT(script, Contains("set terminal svg size 800,940"));  // two panels
  REQUIRE_THAT(script, Contains("set output 'curves.svg'\n"));      // gnuplot runs in the image's folder
  REQUIRE_THAT(script, Contains("set multiplot layout 2,1 title 'dense vs ''moe'''"));
  REQUIRE_THAT(script, Contains("set logscale y\n"));
  REQUIRE_THAT(script, Contains("set yrange [4:*]\n"));
  // Colour by run, dashes by split: train dashed (2), valid solid (1).
  REQUIRE_THAT(script, Contains("$dense_train_loss using 1:2 with linespoints pt 7 ps 0.6 lw 2 lc rgb '#0072b2' dt 2 "
                                "title 'dense train_loss'"));
  REQUIRE_THAT(script, Contains("$moe_valid_loss using 1:2 with linespoints pt 7 ps 0.6 lw 2 lc rgb '#d55e00' dt 1"));

  REQUIRE_THAT(terminal_for("a/b.png", 1), Contains("set terminal pngcairo size 800,450"));
  REQUIRE_THAT(terminal_for("b.svg", 1), Contains("set terminal svg size 800,450"));
  REQUIRE_THROWS_WITH(terminal_for("b.pdf", 1), Contains("--out must end in .png or .svg") && Contains("b.pdf"));
  REQUIRE_THROWS_WITH(gnuplot_script(make_chart(runs, {.x_range = "0-100"}), "c.png"),
                      Contains("--x-range takes LO:HI") && Contains("0-100"));
}

TEST_CASE("plot: gnuplot draws a PNG and an SVG, and its errors are reported", "[plot]") {
  INFO("zoo plot needs gnuplot (scripts/setup.sh installs gnuplot-nox)");
  REQUIRE_FALSE(find_on_path("gnuplot").empty());
  const fs::path root = fresh_dir("draw");
  const std::vector<RunMetrics> runs = two_runs(root);
  const std::vector<std::string> dirs = {runs[0].dir, runs[1].dir};

  const PlotResult png = plot_runs(dirs, (root / "charts" / "curves.png").string(), {.title = "two runs"});
  const std::string image = test::read_file_text(png.image);
  REQUIRE(image.substr(0, 8) == "\x89PNG\r\n\x1a\n");
  REQUIRE(image.size() > 10000);  // a drawn chart, not an empty canvas
  REQUIRE(fs::exists(png.script));
  REQUIRE(png.script == png.image + ".gp");

  const PlotResult svg = plot_runs(dirs, (root / "curves.svg").string(), {.metrics = {"valid_loss"}});
  const std::string text = test::read_file_text(svg.image);
  REQUIRE_THAT(text, Contains("<svg"));
  REQUIRE_THAT(text, Contains("valid_loss"));  // the axis label, drawn as text

  // A script gnuplot cannot read: its own message comes back in the error.
  std::ofstream(root / "broken.gp") << "plot $nowhere using 1:2\n";
  REQUIRE_THROWS_WITH(run_gnuplot((root / "broken.gp").string()),
                      Contains("gnuplot failed on") && Contains("nowhere"));

  // Without gnuplot on the PATH, the error says what to install.
  const std::string path = std::getenv("PATH");
  setenv("PATH", (root / "no-programs-here").c_str(), 1);
  std::string message;
  try {
    run_gnuplot(png.script);
  } catch (const Error& e) {
    message = e.what();
  }
  setenv("PATH", path.c_str(), 1);
  REQUIRE_THAT(message, Contains("zoo plot needs gnuplot: apt install gnuplot-nox"));
}
