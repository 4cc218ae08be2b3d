/* Stand-in for a cuDNN 9 sub-library that the shim (fake_cudnn.c) loads by bare name. */
int cudnnOpsVersionCheck(void) { return 0; }
