// Isolation levels as the anomalies they forbid (Elle's consistency-model table, simplified
// to the models a database usually claims), and which models a set of anomalies rules out.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace faultline::checker::txn {

// All accepted model names, weakest first.
const std::vector<std::string>& model_names();
bool is_model(const std::string& name);

// Every anomaly the model forbids, including those of the weaker models it implies.
std::set<std::string> forbidden_anomalies(const std::string& model);

struct ModelBoundary {
  std::vector<std::string> ruled_out_weakest;  // Elle's :not
  std::vector<std::string> ruled_out_others;   // Elle's :also-not (stronger ones)
  std::vector<std::string> strongest_holding;  // strongest models not ruled out nor undecided
  std::vector<std::string> undecided;          // not ruled out, but a search for an anomaly
                                               // they forbid ran out of budget
};
ModelBoundary model_boundary(const std::set<std::string>& found,
                             const std::set<std::string>& unfinished);

}  // namespace faultline::checker::txn
