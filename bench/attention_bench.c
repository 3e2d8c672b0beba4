/* Fused attention head kernel, every x86 path this CPU has, same run: ms per MiniLM-sized layer (12 heads, 160 tokens,
   head size 32; --len/--dh/--heads change it) and the largest difference between the paths' outputs.
     cc -O2 -ISources/CEKernels/include bench/attention_bench.c Sources/CEKernels/*.c -lm -o /tmp/attention_bench
     /tmp/attention_bench [len dh heads]
   Name the CPU flags (/proc/cpuinfo) and the load average beside its figures. */
#include "cekernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc, char **argv){
  int len=argc>1?atoi(argv[1]):160, dh=argc>2?atoi(argv[2]):32, heads=argc>3?atoi(argv[3]):12, d=heads*dh, ld=3*d;
  float *qkv=malloc(sizeof(float)*len*ld), *o1=malloc(sizeof(float)*len*d), *o2=malloc(sizeof(float)*len*d);
  float *scr=malloc(sizeof(float)*ce_attention_scratch_floats(len,dh));
  srand(1); for(int i=0;i<len*ld;i++) qkv[i]=(rand()/(float)RAND_MAX-0.5f)*6;
  for(int lvl=1;lvl<=2;lvl++){
    ce_limit_attention_variant(lvl);
    float *o = lvl==1?o1:o2;
    double best=1e9;
    for(int rep=0;rep<30;rep++){
      double t0=now();
      for(int it=0;it<20;it++) for(int h=0;h<heads;h++) ce_attention_head_f32(qkv+h*dh,qkv+d+h*dh,qkv+2*d+h*dh,ld,o+h*dh,d,len,dh,1.0f/sqrtf((float)dh),scr);
      double t=(now()-t0)/20; if(t<best) best=t;
    }
    printf("%s: %.3f ms per layer (%d heads, len %d, dh %d)\n", lvl == 1 ? "AVX2 + FMA" : "AVX-512F", best*1e3, heads, len, dh);
  }
  double mx=0; for(int i=0;i<len*d;i++){double e=fabs(o1[i]-o2[i]); if(e>mx) mx=e;}
  printf("max |avx2 - avx512| %.3g\n", mx);
}
