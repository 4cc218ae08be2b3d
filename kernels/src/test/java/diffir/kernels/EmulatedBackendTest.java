package diffir.kernels;

import diffir.engine.Device;

/** The CUDA backend's conformance checks on the CPU emulator (same kernels, compiled as C++). */
class EmulatedBackendTest extends BackendConformance {
    @Override
    protected Device gpu() {
        return GpuDevices.emulated();
    }
}
