// Hugging Face cache lookup on a fake cache tree built here: refs/main, snapshots of symlinks
// into blobs/, revisions, partial downloads, discovery for the main job. Never the network.
#include "embstat/formats/hf_cache.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>

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

using fixtures::EnvGuard;

// A file in blobs/ and a relative symlink to it from the snapshot, as huggingface_hub does.
void add_blob_file(const std::string& repo, const std::string& rev, const std::string& name,
                   std::span<const std::uint8_t> bytes, const std::string& blob) {
  fixtures::write_file(repo + "/blobs/" + blob, bytes);
  fs::create_directories(repo + "/snapshots/" + rev);
  fs::create_symlink("../../blobs/" + blob, repo + "/snapshots/" + rev + "/" + name);
}

void add_blob_text(const std::string& repo, const std::string& rev, const std::string& name, const std::string& text,
                   const std::string& blob) {
  add_blob_file(repo, rev, name, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, blob);
}

// The fake machine: HOME, a hub cache, a llama.cpp cache.
class HfCacheTest : public ::testing::Test {
 protected:
  HfCacheTest() : dir_("hf-cache") {}

  void SetUp() override {
    home_ = dir_ / "home";
    hub_ = dir_ / "hub";
    llama_ = dir_ / "llama";
    fs::create_directories(home_);
    fs::create_directories(hub_);
    fs::create_directories(llama_);
    env_.set("HOME", home_);
    env_.set("HF_HUB_CACHE", hub_);
    env_.unset("HF_HOME");
    env_.unset("XDG_CACHE_HOME");
    env_.set("LLAMA_CACHE", llama_);

    // acme/tiny: refs/main -> abc123 (embedding ramp), an older snapshot old999 (ramp + 100).
    const std::string tiny = hub_ + "/models--acme--tiny";
    fixtures::SafetensorsBuilder now, old;
    now.add_f32_matrix("model.embed_tokens.weight", 4, 3, fixtures::ramp_matrix(4, 3));
    old.add_f32_matrix("model.embed_tokens.weight", 4, 3, fixtures::ramp_matrix(4, 3, 100));
    add_blob_file(tiny, "abc123", "model.safetensors", now.build(), "blob1");
    add_blob_text(tiny, "abc123", "config.json", R"({"vocab_size": 4, "hidden_size": 3})", "blob2");
    add_blob_text(tiny, "abc123", "tokenizer.json", fixtures::tiny_tokenizer_json({"a", "b", "c", "d"}), "blob3");
    add_blob_file(tiny, "old999", "model.safetensors", old.build(), "blob4");
    fixtures::write_text(tiny + "/refs/main", "abc123\n");

    // acme/tiny-GGUF: GGUF files only, no refs/main.
    const std::string gguf = hub_ + "/models--acme--tiny-GGUF";
    add_blob_file(gguf, "r1", "tiny-Q8_0.gguf", fixtures::tiny_model_gguf(), "g1");
    add_blob_file(gguf, "r1", "mmproj-tiny-f16.gguf", fixtures::tiny_model_gguf(), "g2");

    // acme/partial: the weights link to a blob that never arrived.
    const std::string partial = hub_ + "/models--acme--partial/snapshots/r2";
    fs::create_directories(partial);
    fs::create_symlink("../../blobs/missing", partial + "/model.safetensors");

    // Not models.
    fs::create_directories(hub_ + "/datasets--acme--data/snapshots/r3");
    fs::create_directories(hub_ + "/models--acme--empty");

    fixtures::write_file(llama_ + "/acme_tiny-GGUF_tiny-Q4.gguf", fixtures::tiny_model_gguf(true));
    fixtures::write_text(llama_ + "/acme_big.gguf.downloadInProgress", "partial");
  }

  fixtures::TempDir dir_;
  EnvGuard env_;
  std::string home_, hub_, llama_;
};

TEST(HubId, Syntax) {
  for (const char* ok : {"Qwen/Qwen3-0.6B", "gpt2", "google/gemma-3-1b-it", "a/b@main", "a/b@0123abcd", "org_x/m.v2"})
    EXPECT_TRUE(looks_like_hub_id(ok)) << ok;
  for (const char* bad : {"", "a/b/c", "./x", "/abs/path", "a--b/c", "a/b@", "a b/c", "../x", "a/", "/a", "a/..b",
                          ".hidden", "a/.b", "a/b@x/y"})
    EXPECT_FALSE(looks_like_hub_id(bad)) << bad;
}

TEST_F(HfCacheTest, CacheRootsInOrder) {
  env_.set("HF_HOME", dir_ / "hfhome");
  env_.set("XDG_CACHE_HOME", dir_ / "xdg");
  const std::vector<std::string> expected = {hub_, dir_ / "hfhome/hub", dir_ / "xdg/huggingface/hub",
                                             home_ + "/.cache/huggingface/hub"};
  EXPECT_EQ(hf_hub_cache_dirs(), expected);
  EXPECT_EQ(llama_cpp_cache_dir(), llama_);
  env_.unset("LLAMA_CACHE");
  EXPECT_EQ(llama_cpp_cache_dir(), home_ + "/.cache/llama.cpp");
}

TEST_F(HfCacheTest, ResolvesThroughRefsMain) {
  std::vector<std::string> searched;
  const auto snap = resolve_hub_id("acme/tiny", &searched);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->repo_id, "acme/tiny");
  EXPECT_EQ(snap->revision, "abc123");
  EXPECT_EQ(snap->folder, hub_ + "/models--acme--tiny/snapshots/abc123");
  EXPECT_TRUE(snap->notes.empty());
  EXPECT_EQ(searched.front(), hub_);
  EXPECT_FALSE(resolve_hub_id("acme/absent"));
}

TEST_F(HfCacheTest, Revisions) {
  EXPECT_EQ(resolve_hub_id("acme/tiny@old999")->revision, "old999");
  auto e = expect_error([] { resolve_hub_id("acme/tiny@nope"); }, ErrorKind::Io);
  EXPECT_TRUE(contains(e.message(), "revision 'nope'"));
}

TEST_F(HfCacheTest, WithoutRefsMainTheNewestSnapshot) {
  const auto snap = resolve_hub_id("acme/tiny-GGUF");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->revision, "r1");
  ASSERT_EQ(snap->notes.size(), 1u);
  EXPECT_TRUE(contains(snap->notes[0], "no refs/main"));
  expect_error([] { resolve_hub_id("acme/empty"); }, ErrorKind::Io);
}

TEST_F(HfCacheTest, OpenModelByHubId) {
  const Model m = open_model("acme/tiny", {});
  EXPECT_EQ(m.name, "acme/tiny");
  EXPECT_EQ(m.spec, "acme/tiny");
  EXPECT_EQ(m.format, "safetensors");
  EXPECT_EQ(m.tensor->file, hub_ + "/models--acme--tiny/snapshots/abc123/model.safetensors");
  EXPECT_EQ(m.config.vocab_size, 4);
  EXPECT_EQ(m.vocab.size(), 4u);
  EXPECT_EQ(decode_to_f32(m.matrix).row(1)[0], 10.0f);
  EXPECT_EQ(decode_to_f32(open_model("acme/tiny@old999", {}).matrix).row(1)[0], 110.0f);
  // The repo folder and the snapshot folder work as paths too, named after the repo.
  EXPECT_EQ(open_model(hub_ + "/models--acme--tiny", {}).name, "acme/tiny");
  EXPECT_EQ(open_model(hub_ + "/models--acme--tiny/snapshots/abc123", {}).name, "acme/tiny");
  EXPECT_EQ(open_model(hub_ + "/models--acme--tiny/snapshots/abc123/model.safetensors", {}).name, "acme/tiny");
}

TEST_F(HfCacheTest, AbsentHubIdSaysWhereItLooked) {
  auto e = expect_error([] { open_model("acme/absent", {}); }, ErrorKind::Io);
  EXPECT_TRUE(contains(e.message(), hub_));
  EXPECT_TRUE(contains(e.message(), "never downloads"));
}

TEST_F(HfCacheTest, PartialDownloadIsAClearError) {
  auto e = expect_error([] { open_model("acme/partial", {}); }, ErrorKind::Io);
  EXPECT_TRUE(contains(e.message(), "not downloaded")) << e.message();
  auto link = expect_error([&] { open_model(hub_ + "/models--acme--partial/snapshots/r2/model.safetensors", {}); },
                           ErrorKind::Io);
  EXPECT_TRUE(contains(link.message(), "dangling"));
}

// A snapshot whose link leads back to itself is a loop, not a download that never arrived.
TEST_F(HfCacheTest, SymlinkLoopIsReportedAsALoop) {
  const std::string snap = hub_ + "/models--acme--loop/snapshots/r1";
  fs::create_directories(snap);
  fs::create_symlink("../../blobs/a", snap + "/model.safetensors");
  fs::create_directories(hub_ + "/models--acme--loop/blobs");
  fs::create_symlink("../snapshots/r1/model.safetensors", hub_ + "/models--acme--loop/blobs/a");
  auto e = expect_error([&] { open_model(snap, {}); }, ErrorKind::Io);
  EXPECT_TRUE(contains(e.message(), "model.safetensors is a symlink loop")) << e.message();
  EXPECT_FALSE(contains(e.message(), "not downloaded")) << e.message();
  auto file = expect_error([&] { open_model(snap + "/model.safetensors", {}); }, ErrorKind::Io);
  EXPECT_TRUE(contains(file.message(), "is a symlink loop")) << file.message();
  // A sharded checkpoint whose needed shard is a loop.
  const std::string sharded = hub_ + "/models--acme--loop/snapshots/r2";
  fs::create_directories(sharded);
  fixtures::write_text(sharded + "/model.safetensors.index.json",
                       fixtures::index_json({{"model.embed_tokens.weight", "model-00001-of-00001.safetensors"}}));
  fs::create_symlink("model-00001-of-00001.safetensors", sharded + "/model-00001-of-00001.safetensors");
  auto shard = expect_error([&] { open_model(sharded, {}); }, ErrorKind::Io);
  EXPECT_TRUE(contains(shard.message(), "which is a symlink loop")) << shard.message();
}

TEST_F(HfCacheTest, HubIdOfPath) {
  EXPECT_EQ(hub_id_of_path(hub_ + "/models--acme--tiny/snapshots/abc123/model.safetensors"), "acme/tiny");
  EXPECT_EQ(hub_id_of_path(hub_ + "/models--gpt2/snapshots/abc/"), "gpt2");
  EXPECT_FALSE(hub_id_of_path(hub_ + "/models--acme--tiny"));
  EXPECT_FALSE(hub_id_of_path(dir_ / "elsewhere/model.safetensors"));
}

TEST_F(HfCacheTest, DiscoverModels) {
  std::vector<std::string> searched;
  const auto found = discover_models(&searched);
  const std::vector<std::string> expected = {
      hub_ + "/models--acme--tiny-GGUF/snapshots/r1/tiny-Q8_0.gguf",
      llama_ + "/acme_tiny-GGUF_tiny-Q4.gguf",
      "acme/tiny",
  };
  auto sorted = expected;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(found, sorted);
  EXPECT_NE(std::find(searched.begin(), searched.end(), hub_), searched.end());
  EXPECT_NE(std::find(searched.begin(), searched.end(), llama_), searched.end());
  EXPECT_NE(std::find(searched.begin(), searched.end(), home_ + "/.cache/huggingface/hub"), searched.end());
}

TEST_F(HfCacheTest, DiscoverNothingStillListsTheRoots) {
  env_.set("HF_HUB_CACHE", dir_ / "nowhere");
  env_.set("LLAMA_CACHE", dir_ / "nowhere-either");
  std::vector<std::string> searched;
  EXPECT_TRUE(discover_models(&searched).empty());
  EXPECT_EQ(searched.front(), dir_ / "nowhere");
  EXPECT_EQ(searched.back(), dir_ / "nowhere-either");
}

}  // namespace
}  // namespace embstat
