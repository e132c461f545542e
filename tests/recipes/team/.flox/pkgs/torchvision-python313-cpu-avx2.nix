# A small CPU-only recipe written for tvselect's tests: flags on one line, platforms given.
{ pkgs ? import <nixpkgs> {} }:

let
  nixpkgs_pinned = import (builtins.fetchTarball {
    url = "https://github.com/NixOS/nixpkgs/archive/fe5e41d7ffc0421f0913e8472ce6238ed0daf8e3.tar.gz";
  }) { };
  cpuFlags = [ "-mavx2" "-mfma" "-mf16c" ];
  customPytorch = nixpkgs_pinned.python3Packages.torch.override { cudaSupport = false; };
in
  (nixpkgs_pinned.python3Packages.torchvision.override { torch = customPytorch; }).overrideAttrs (oldAttrs: {
    pname = "torchvision-python313-cpu-avx2";
    meta = oldAttrs.meta // { platforms = [ "x86_64-linux" ]; };
  })
