// metrics.jsonl: a new run starts it empty; a resumed run keeps the records up to its
// checkpoint's step and drops the later ones, which it is about to log again.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "models/common/metrics.h"
#include "test_util.h"

using namespace zoo;
namespace fs = std::filesystem;

TEST_CASE("metrics: a resumed run drops the records logged after its checkpoint", "[metrics]") {
  const fs::path dir = fs::temp_directory_path() / "zoo-test-metrics";
  fs::remove_all(dir);
  {
    models::MetricsWriter m(dir.string());
    m.write({{"note", "config"}});
    for (int step = 10; step <= 40; step += 10) m.write({{"step", step}, {"loss", 1.0 / step}});
  }
  {  // killed after logging step 40; the checkpoint it resumes from is step 25's
    models::MetricsWriter m(dir.string(), 25);
    m.write({{"step", 30}, {"loss", 0.5}});
  }
  REQUIRE(test::read_file_text((dir / "metrics.jsonl").string()) ==
          "{\"note\":\"config\"}\n"
          "{\"loss\":0.1,\"step\":10}\n"
          "{\"loss\":0.05,\"step\":20}\n"
          "{\"loss\":0.5,\"step\":30}\n");
  {  // a new run starts the file again
    models::MetricsWriter m(dir.string());
    m.write({{"step", 1}});
  }
  REQUIRE(test::read_file_text((dir / "metrics.jsonl").string()) == "{\"step\":1}\n");

  std::ofstream(dir / "metrics.jsonl") << "{\"step\":1}\nnot json\n";
  REQUIRE_THROWS_WITH(models::MetricsWriter(dir.string(), 5), Catch::Matchers::Contains("line 2 of") &&
                                                                   Catch::Matchers::Contains("metrics.jsonl"));
}
