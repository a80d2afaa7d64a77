"""The agreements API: legal bases, agreements and their lifecycle, and the frontline check."""

from rest_framework import generics, serializers

from .models import LegalBasis


class LegalBasisOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = LegalBasis
        fields = ["code", "title", "citation", "kind", "description"]


class LegalBasisListApi(generics.ListAPIView):
    """The catalogue of lawful bases, conditions and statutory gateways, each in plain English."""

    serializer_class = LegalBasisOutputSerializer
    queryset = LegalBasis.objects.filter(active=True).order_by("kind", "code")
    filterset_fields = ["kind"]
