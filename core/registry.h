// Name -> factory tables for targets, workloads and nemeses. Each implementation registers
// itself with one line in its own file (FoundationDB's workload registration), so adding one
// touches one folder.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace faultline {

template <class Interface, class... Args>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<Interface>(Args...)>;

  static bool add(const std::string& name, Factory factory) {
    table().emplace(name, std::move(factory));
    return true;
  }
  static const Factory* find(const std::string& name) {
    auto it = table().find(name);
    return it == table().end() ? nullptr : &it->second;
  }
  static std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const auto& [name, _] : table()) out.push_back(name);
    return out;
  }

 private:
  // A function-local static: registration runs during static initialisation, in any order.
  static std::map<std::string, Factory>& table() {
    static std::map<std::string, Factory> instance;
    return instance;
  }
};

}  // namespace faultline
