#include "checker/txn/write_index.h"

#include <bit>

namespace faultline::checker::txn {

namespace {

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser: cheap, good spread
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Marks writes the same txn overwrites later in its own micro-ops.
void mark_intermediate(const TxnHistory& h, std::uint32_t txn, WriteIndex& index) {
  auto mops = h.mops_of(txn);
  for (std::size_t i = 0; i < mops.size(); ++i) {
    if (mops[i].kind == MopKind::read) continue;
    for (std::size_t j = i + 1; j < mops.size(); ++j) {
      if (mops[j].kind != MopKind::read && mops[j].key == mops[i].key) {
        index.find(mops[i].key, mops[i].value)->final_in_txn = false;
        break;
      }
    }
  }
}

}  // namespace

WriteIndex::WriteIndex(const TxnHistory& h) {
  std::size_t writes = 0;
  for (const Mop& m : h.mops) writes += m.kind != MopKind::read;
  slots_.resize(std::bit_ceil(2 * writes + 16));  // load factor at most 1/2
  mask_ = slots_.size() - 1;
  for (const Mop& m : h.mops) {
    if (m.kind == MopKind::read) continue;
    std::size_t i = home(m.key, m.value);
    while (slots_[i].key != kNone) {
      if (slots_[i].key == m.key && slots_[i].value == m.value) {
        throw HistoryError(kInMemoryHistory, 0,
                           "value " + std::to_string(m.value) + " is written to key " +
                               h.key_names[m.key] + " twice (by " +
                               h.txn_name(h.mops[slots_[i].info.mop].txn) + " and " +
                               h.txn_name(m.txn) + "); the checker needs unique writes per key");
      }
      i = (i + 1) & mask_;
    }
    slots_[i] = Slot{m.value, m.key, WriteInfo{h.mop_id(m), kNone, true}};
  }
  for (std::uint32_t t = 0; t < h.txns.size(); ++t) mark_intermediate(h, t, *this);
}

// A key's values sit side by side from a random base: a read of [1 2 ... 16] looks up one run of
// slots (a few cache lines), not sixteen random ones; keys' runs start far apart.
std::size_t WriteIndex::home(std::uint32_t key, std::int64_t value) const {
  return (mix(std::uint64_t{key} + 1) + static_cast<std::uint64_t>(value)) & mask_;
}

WriteInfo* WriteIndex::find(std::uint32_t key, std::int64_t value) {
  for (std::size_t i = home(key, value);; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.key == kNone) return nullptr;
    if (s.key == key && s.value == value) return &s.info;
  }
}

}  // namespace faultline::checker::txn
