"""Cluster-wide admin network policies: AdminNetworkPolicy, BaselineAdminNetworkPolicy
(policy.networking.k8s.io/v1alpha1) and ClusterNetworkPolicy (v1alpha2).

``model`` holds the parsed policies, ``parse`` validates and defaults them as the CRDs do,
``evaluate`` decides one flow across the Admin tier, NetworkPolicy and the Baseline tier,
``tables`` folds the same order into the graph's per-group tables and ``lint`` reports
priority ties, shadowed rules, dangling Passes and empty subjects. See docs/admin-policies.md.
https://network-policy-api.sigs.k8s.io/
"""
