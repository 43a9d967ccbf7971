"""Real model servers (llama.cpp's server, Triton) and a fault-injecting server for the network
tests: each starts on a free loopback port in its own process group and is stopped with it."""
