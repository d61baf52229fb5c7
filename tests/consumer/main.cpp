#include <iostream>

#include <vkbnn/vkbnn.hpp>

int main() {
  for (const auto& device : vkbnn::Context::list_devices()) std::cout << vkbnn::to_string(device) << '\n';
  return 0;
}
