// Ollama and LM Studio stores built here as fixtures: manifests, blobs, symlinks, and the hostile
// cases (a manifest that is not JSON, one naming a missing blob, a blob that is not GGUF, a
// symlink loop). Never the network, never the user's own stores (the variables point here).
#include "embstat/formats/model_stores.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "embstat/base/error.hpp"
#include "embstat/formats/model.hpp"
#include "tests/fixtures/env_guard.hpp"
#include "tests/fixtures/expect_error.hpp"
#include "tests/fixtures/gguf_builder.hpp"
#include "tests/fixtures/safetensors_builder.hpp"

namespace embstat {
namespace {

namespace fs = std::filesystem;
using fixtures::contains;
using fixtures::expect_error;

std::string digest_hex(char c) {
  return std::string(64, c);
}

std::string manifest_json(const std::string& hex, const std::string& media_type = std::string(kOllamaModelMediaType)) {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
         R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:)" +
         digest_hex('0') +
         R"(","size":10},"layers":[{"mediaType":"application/vnd.ollama.image.license",)"
         R"("digest":"sha256:)" +
         digest_hex('1') + R"(","size":5},{"mediaType":")" + media_type + R"(","digest":"sha256:)" + hex +
         R"(","size":100}]})";
}

class OllamaStore : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.set("OLLAMA_MODELS", dir_.path());
    env_.set("LMSTUDIO_MODELS", dir_ / "lmstudio");
  }
  // A manifest at manifests/<registry>/<ns>/<model>/<tag>.
  std::string add_manifest(const std::string& registry, const std::string& ns, const std::string& model,
                           const std::string& tag, const std::string& text) {
    const std::string path = dir_ / ("manifests/" + registry + "/" + ns + "/" + model + "/" + tag);
    fixtures::write_text(path, text);
    return path;
  }
  std::string add_blob(const std::string& hex, std::span<const std::uint8_t> bytes) {
    const std::string path = dir_ / ("blobs/sha256-" + hex);
    fixtures::write_file(path, bytes);
    return path;
  }

  fixtures::TempDir dir_{"ollama_store"};
  fixtures::EnvGuard env_;
};

TEST_F(OllamaStore, ResolvesNamesThroughTheManifest) {
  const auto gguf = fixtures::tiny_model_gguf();
  const std::string blob = add_blob(digest_hex('a'), gguf);
  const std::string manifest =
      add_manifest("registry.ollama.ai", "library", "qwen3", "0.6b", manifest_json(digest_hex('a')));
  add_manifest("registry.ollama.ai", "library", "qwen3", "latest", manifest_json(digest_hex('a')));
  add_manifest("registry.ollama.ai", "someone", "tiny", "latest", manifest_json(digest_hex('a')));
  add_manifest("hf.co", "bartowski", "Tiny-GGUF", "Q4_K_M", manifest_json(digest_hex('a')));

  for (const char* spec :
       {"ollama:qwen3:0.6b", "ollama:library/qwen3:0.6b", "ollama:registry.ollama.ai/library/qwen3:0.6b"}) {
    SCOPED_TRACE(spec);
    const OllamaModel m = resolve_ollama(spec);
    EXPECT_EQ(m.name, "qwen3:0.6b");
    EXPECT_EQ(m.manifest, manifest);
    EXPECT_EQ(m.blob, blob);
    EXPECT_EQ(m.blob_bytes, gguf.size());
  }
  EXPECT_EQ(resolve_ollama("ollama:qwen3").name, "qwen3:latest");  // tag defaults to latest
  EXPECT_EQ(resolve_ollama("ollama:someone/tiny").name, "someone/tiny:latest");
  EXPECT_EQ(resolve_ollama("ollama:hf.co/bartowski/Tiny-GGUF:Q4_K_M").name, "hf.co/bartowski/Tiny-GGUF:Q4_K_M");

  const Model model = open_model("ollama:qwen3:0.6b", {});
  EXPECT_EQ(model.name, "ollama:qwen3:0.6b");
  EXPECT_EQ(model.format, "gguf");
  ASSERT_EQ(model.files.size(), 2u);
  EXPECT_EQ(model.files[0], manifest);
  EXPECT_EQ(model.files[1], blob);
  EXPECT_EQ(model.matrix.n_rows, 6);
  ASSERT_FALSE(model.notes.empty());
  EXPECT_TRUE(contains(model.notes[0], "blob " + blob + " (" + std::to_string(gguf.size()) + " bytes)"));
}

TEST_F(OllamaStore, BadNamesAndMissingModels) {
  for (const char* spec : {"ollama:", "ollama:a/b/c/d", "ollama:../x", "ollama:x:", "ollama:/x", "ollama:a b"}) {
    SCOPED_TRACE(spec);
    expect_error([&] { resolve_ollama(spec); }, ErrorKind::Usage);
  }
  const auto e = expect_error([&] { open_model("ollama:nothere:1b", {}); }, ErrorKind::Io);
  EXPECT_TRUE(contains(e.message(), "no Ollama manifest for nothere:1b"));
  EXPECT_TRUE(contains(e.message(), dir_.path()));
}

TEST_F(OllamaStore, HostileManifestsAndBlobs) {
  // Not JSON: Format with the offset of the syntax error.
  const std::string not_json = add_manifest("registry.ollama.ai", "library", "notjson", "latest", "{\"layers\": [}");
  auto e = expect_error([&] { open_model("ollama:notjson", {}); }, ErrorKind::Format);
  EXPECT_EQ(e.path(), not_json);
  EXPECT_TRUE(e.offset().has_value());
  // JSON, but no model layer.
  add_manifest("registry.ollama.ai", "library", "nolayer", "latest",
               manifest_json(digest_hex('b'), "application/vnd.ollama.image.template"));
  e = expect_error([&] { open_model("ollama:nolayer", {}); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "no layer of media type application/vnd.ollama.image.model"));
  // A digest that could escape blobs/.
  add_manifest("registry.ollama.ai", "library", "baddigest", "latest", manifest_json("../../../etc/passwd"));
  e = expect_error([&] { open_model("ollama:baddigest", {}); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "is not sha256:<64 hex digits>"));
  // Names a blob that is not there.
  add_manifest("registry.ollama.ai", "library", "missing", "latest", manifest_json(digest_hex('c')));
  e = expect_error([&] { open_model("ollama:missing", {}); }, ErrorKind::Io);
  EXPECT_TRUE(contains(e.message(), "blob missing"));
  EXPECT_TRUE(contains(e.path(), "sha256-" + digest_hex('c')));
  // A blob that is not GGUF (an Ollama template layer named as the model).
  add_blob(digest_hex('d'), std::vector<std::uint8_t>{'{', '{', ' ', '.', 'P', 'r', 'o', 'm', 'p', 't'});
  add_manifest("registry.ollama.ai", "library", "notgguf", "latest", manifest_json(digest_hex('d')));
  e = expect_error([&] { open_model("ollama:notgguf", {}); }, ErrorKind::Format);
  EXPECT_EQ(e.offset(), 0u);
  // A blob that is a symlink loop.
  fs::create_directories(dir_ / "blobs");
  fs::create_symlink("sha256-" + digest_hex('e'), dir_ / ("blobs/sha256-" + digest_hex('e')));
  add_manifest("registry.ollama.ai", "library", "loop", "latest", manifest_json(digest_hex('e')));
  e = expect_error([&] { open_model("ollama:loop", {}); }, ErrorKind::Io);
  EXPECT_TRUE(contains(e.path(), "sha256-" + digest_hex('e')));
}

TEST_F(OllamaStore, ListingShowsEveryManifestAndEachProblemOnOneLine) {
  const auto gguf = fixtures::tiny_model_gguf();
  add_blob(digest_hex('a'), gguf);
  add_manifest("registry.ollama.ai", "library", "good", "latest", manifest_json(digest_hex('a')));
  add_manifest("registry.ollama.ai", "library", "missing", "latest", manifest_json(digest_hex('c')));
  add_manifest("registry.ollama.ai", "library", "notjson", "latest", "not json at all");
  add_blob(digest_hex('d'), std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o'});
  add_manifest("registry.ollama.ai", "library", "notgguf", "latest", manifest_json(digest_hex('d')));
  // A manifest that is a symlink loop, and a folder loop where a tag should be.
  const std::string loop = dir_ / "manifests/registry.ollama.ai/library/loop/latest";
  fs::create_directories(fs::path(loop).parent_path());
  fs::create_symlink("latest", loop);
  fs::create_symlink("..", dir_ / "manifests/registry.ollama.ai/library/good/up");

  std::vector<std::string> searched;
  const auto found = list_ollama_models(&searched);
  ASSERT_EQ(searched, std::vector<std::string>{dir_.path()});
  std::vector<std::string> specs;
  for (const auto& f : found) {
    specs.push_back(f.spec);
    EXPECT_EQ(f.store, "ollama");
    EXPECT_EQ(f.problem.find('\n'), std::string::npos) << f.problem;  // one line each
  }
  const std::vector<std::string> want = {"ollama:good:latest",    "ollama:good:up",        "ollama:loop:latest",
                                         "ollama:missing:latest", "ollama:notgguf:latest", "ollama:notjson:latest"};
  ASSERT_EQ(specs, want);
  EXPECT_EQ(found[0].problem, "");
  EXPECT_TRUE(contains(found[1].problem, "not a manifest file"));
  EXPECT_TRUE(contains(found[2].problem, "symbolic links"));
  EXPECT_TRUE(contains(found[3].problem, "blob missing"));
  EXPECT_TRUE(contains(found[4].problem, "not a GGUF file"));
  EXPECT_TRUE(contains(found[5].problem, "notjson/latest: offset "));
  EXPECT_EQ(open_model(found[0].spec, {}).matrix.n_rows, 6);
}

TEST_F(OllamaStore, DefaultStoresWithoutTheVariable) {
  env_.unset("OLLAMA_MODELS");
  env_.unset("LMSTUDIO_MODELS");
  env_.set("HOME", "/home/someone");
  EXPECT_EQ(ollama_models_dirs(),
            (std::vector<std::string>{"/home/someone/.ollama/models", "/usr/share/ollama/.ollama/models"}));
  EXPECT_EQ(lmstudio_models_dirs(),
            (std::vector<std::string>{"/home/someone/.lmstudio/models", "/home/someone/.cache/lm-studio/models"}));
}

TEST_F(OllamaStore, LmStudioListsPublisherModelGgufs) {
  const auto gguf = fixtures::tiny_model_gguf();
  fixtures::write_file(dir_ / "lmstudio/acme/Tiny-GGUF/tiny-Q4_K_M.gguf", gguf);
  fixtures::write_file(dir_ / "lmstudio/acme/Tiny-GGUF/mmproj-tiny-f16.gguf", gguf);  // vision projector
  fixtures::write_text(dir_ / "lmstudio/acme/Tiny-GGUF/README.md", "hello");
  fixtures::write_file(dir_ / "lmstudio/other/Two/two.gguf", gguf);
  fs::create_symlink("nowhere.gguf", dir_ / "lmstudio/other/Two/dangling.gguf");
  std::vector<std::string> searched;
  const auto found = list_lmstudio_models(&searched);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].spec, dir_ / "lmstudio/acme/Tiny-GGUF/tiny-Q4_K_M.gguf");
  EXPECT_EQ(found[0].problem, "");
  EXPECT_EQ(found[1].spec, dir_ / "lmstudio/other/Two/dangling.gguf");
  EXPECT_FALSE(found[1].problem.empty());
  EXPECT_EQ(found[2].spec, dir_ / "lmstudio/other/Two/two.gguf");
  EXPECT_EQ(found[2].store, "lmstudio");
  EXPECT_EQ(searched, std::vector<std::string>{dir_ / "lmstudio"});
}

}  // namespace
}  // namespace embstat
