# A small recipe written for tvselect's tests, in the shape of the build-torchvision recipes.
# Package name: torchvision-python313-cuda12_8-sm75-avx512

{ pkgs ? import <nixpkgs> {} }:

let
  nixpkgs_pinned = import (builtins.fetchTarball {
    url = "https://github.com/NixOS/nixpkgs/archive/fe5e41d7ffc0421f0913e8472ce6238ed0daf8e3.tar.gz";
  }) {
    config = { allowUnfree = true; cudaSupport = true; };
  };

  # GPU target
  gpuArchNum = "75";
  gpuArchSM = "7.5";

  # CPU optimization, one flag a line
  cpuFlags = [
    "-mavx512f"   # AVX-512 foundation
    "-mavx512dq"
    "-mavx512vl"
    "-mavx512bw"
    "-mfma"
  ];

  customPytorch = (nixpkgs_pinned.python3Packages.torch.override {
    cudaSupport = true;
    gpuTargets = [ gpuArchSM ];
  });

in
  (nixpkgs_pinned.python3Packages.torchvision.override {
    torch = customPytorch;
  }).overrideAttrs (oldAttrs: {
    pname = "torchvision-python313-cuda12_8-sm75-avx512";
    meta = oldAttrs.meta // {
      platforms = oldAttrs.meta.platforms or [ "x86_64-linux" "aarch64-linux" ];
    };
  })
